/**
 * The main-thread side of a worker: {@linkcode WorkerClient} correlates each
 * call with its reply by id, fails what is in flight when the worker dies
 * (and starts a new one if asked), and closes with a time limit.
 */
import { settlesWithin } from "../async/mod.ts";
import { WorkerCrashedError } from "./errors.ts";
import type { WorkerPort } from "./port.ts";
import type { Methods, WireError, WorkerMessage } from "./protocol.ts";

/** Options of {@linkcode WorkerClient}. */
export interface WorkerClientOptions {
  /** Names the worker in errors: `Search worker crashed: ...`. */
  name: string;
  /** Start a new worker after one dies (its calls still fail). Default `true`. */
  respawn?: boolean;
  /** Unasked messages from the worker (see `emitEvent`). */
  onEvent?: (name: string, data: unknown) => void;
  /**
   * Called after a worker died (with the {@linkcode WorkerCrashedError} its
   * calls got) or was stopped by `restart(reason)` (with an `Error` whose
   * message is `reason`).
   */
  onCrash?: (err: Error) => void;
  /** Turns a failure from the worker into an error (to revive its class). Default: `Error`. */
  reviveError?: (error: WireError) => Error;
  /** Runs on each new worker before any call (init messages). */
  onStart?: (client: WorkerClient<Methods>) => void;
}

interface Waiter {
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
}

type Arg<M extends Methods, K extends keyof M> = Parameters<M[K]>[0];
type Result<M extends Methods, K extends keyof M> = Awaited<ReturnType<M[K]>> extends infer R
  ? R extends { value: infer V; transfer: Transferable[] } ? V : R
  : never;

/**
 * Calls a worker's methods (served with `serveWorker`) as promises.
 *
 * @example
 * ```ts
 * await using w = new WorkerClient<typeof methods>(
 *   () => webWorker(new URL("./my_worker.ts", import.meta.url)),
 *   { name: "Search worker" },
 * );
 * const n = await w.call("count", "words.txt");
 * ```
 */
export class WorkerClient<M extends Methods> implements AsyncDisposable {
  readonly #spawn: () => WorkerPort;
  readonly #opts: WorkerClientOptions;
  readonly #waiters = new Map<number, Waiter>();
  #port: WorkerPort;
  #next = 1;
  #closed: Promise<void> | undefined;
  #crashes = 0;

  constructor(spawn: () => WorkerPort, options: WorkerClientOptions) {
    this.#spawn = spawn;
    this.#opts = options;
    this.#port = this.#start();
  }

  /** Calls sent and not answered yet. */
  get inFlight(): number {
    return this.#waiters.size;
  }

  /** How many times a worker died (or was restarted) and was replaced. */
  get crashes(): number {
    return this.#crashes;
  }

  #start(): WorkerPort {
    const port = this.#spawn();
    port.listen((m) => this.#onMessage(port, m), (message, cause) => {
      if (port !== this.#port) return;
      this.#fail(port, new WorkerCrashedError(this.#opts.name, message, { cause }));
    });
    this.#port = port;
    this.#opts.onStart?.(this as unknown as WorkerClient<Methods>);
    return port;
  }

  #onMessage(port: WorkerPort, m: WorkerMessage): void {
    if (port !== this.#port) return;
    if (m.kind === "event") {
      this.#opts.onEvent?.(m.name, m.data);
      return;
    }
    const w = this.#waiters.get(m.id);
    if (!w) return;
    this.#waiters.delete(m.id);
    if (m.ok) w.resolve(m.value);
    else w.reject(this.#opts.reviveError?.(m.error) ?? new Error(m.error.message));
  }

  #fail(port: WorkerPort, err: Error): void {
    port.terminate();
    this.#crashes++;
    const waiters = [...this.#waiters.values()];
    this.#waiters.clear();
    if (this.#closed === undefined && (this.#opts.respawn ?? true)) this.#start();
    for (const w of waiters) w.reject(err);
    this.#opts.onCrash?.(err);
  }

  /**
   * Runs `method(arg)` in the worker; rejects if it throws, if the worker
   * dies (a {@linkcode WorkerCrashedError}) or is restarted, or is closed.
   */
  call<K extends keyof M & string>(
    method: K,
    arg: Arg<M, K>,
    transfer?: Transferable[],
  ): Promise<Result<M, K>> {
    if (this.#closed) return Promise.reject(new Error(`${this.#opts.name} is closed`));
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#waiters.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.#port.post({ kind: "call", id, method, arg }, transfer);
    });
  }

  /** Sends `method(arg)` without waiting for a reply (a failure arrives as event "error"). */
  post<K extends keyof M & string>(method: K, arg: Arg<M, K>, transfer?: Transferable[]): void {
    if (this.#closed) throw new Error(`${this.#opts.name} is closed`);
    this.#port.post({ kind: "call", method, arg }, transfer);
  }

  /**
   * Stops the worker now (a handler past its time limit): what is in flight
   * fails with `reason`, and a new worker starts unless `respawn` is false.
   */
  restart(reason: string): void {
    this.#fail(this.#port, new Error(reason));
  }

  /**
   * Closes: optionally calls `goodbye` (a method that flushes) and waits for
   * it at most `timeoutMs` (default 2000), then terminates the worker. Calls
   * still in flight fail. Idempotent.
   */
  close(options: { goodbye?: keyof M & string; timeoutMs?: number } = {}): Promise<void> {
    this.#closed ??= (async () => {
      if (options.goodbye !== undefined) {
        const id = this.#next++;
        const done = new Promise<void>((resolve) => {
          this.#waiters.set(id, { resolve: () => resolve(), reject: () => resolve() });
        });
        this.#port.post({ kind: "call", id, method: options.goodbye, arg: undefined });
        await settlesWithin(done, options.timeoutMs ?? 2000);
      }
      this.#port.terminate();
      const err = new Error(`${this.#opts.name} is closed`);
      const waiters = [...this.#waiters.values()];
      this.#waiters.clear();
      for (const w of waiters) w.reject(err);
    })();
    return this.#closed;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
