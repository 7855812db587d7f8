/**
 * A pool of handler workers with a time limit per query: picks a worker for
 * each query, starts and replaces workers, and sweeps for deadlines. Each
 * worker's queue and batches are a {@linkcode HandlerSlot}
 * (`_handler_slot.ts`); what happens at a timeout or crash is
 * `_handler_recovery.ts`. The messages go through `core/worker`'s
 * {@linkcode WorkerClient}, which also starts a new worker after a crash or
 * a `restart()`. Other workers keep answering meanwhile.
 */
import { pathToFileURL } from "node:url";
import { type Logger, nullLogger } from "../log/mod.ts";
import { threadWorker, WorkerClient, WorkerCrashedError } from "../worker/mod.ts";
import type { HandlerRepliesEvent, HandlerResult } from "./handler_messages.ts";
import type { handlerMethods } from "./handler_worker.ts";
import type { RepresentationByte } from "./wire.ts";
import { HandlerSlot, type Pending, type SlotPolicy } from "./_handler_slot.ts";
import { afterWorkerLoss, lateQueries } from "./_handler_recovery.ts";

/** Options for {@linkcode HandlerPool}. */
export interface HandlerPoolOptions {
  /** Number of workers. Default 2 (one stuck handler never stops the others). */
  size?: number;
  /** Time limit per query, ms. Default 1000. */
  timeoutMs?: number;
  /** Most queries in one batch to a worker. Default 256. */
  maxBatch?: number;
  /** Queries waiting for a worker before new ones are refused. Default 10000. */
  maxQueued?: number;
  /**
   * Characters of the queries waiting for a worker before new ones are
   * refused, so that queries near the size limit cannot make the waiting
   * ones hold gigabytes (10000 of 1 MiB). Default {@linkcode MAX_QUEUED_CHARS}.
   */
  maxQueuedChars?: number;
  /**
   * Heap cap of each handler worker, MiB (V8 old generation, through
   * `node:worker_threads` resource limits: Deno's Web Workers have none). A
   * handler that reaches it stops there, without taking the process down,
   * and is terminated at its time limit. Default 256.
   */
  memoryMb?: number;
  /** Logger for worker failures and replacements. Default: silent. */
  logger?: Logger;
}

/** Default {@linkcode HandlerPoolOptions.maxQueuedChars}: 64 Mi characters (64 MiB of ASCII). */
export const MAX_QUEUED_CHARS = 64 * 1024 * 1024;

/** Names the worker in errors: `The handler worker crashed: ...`. */
const WORKER_NAME = "The handler worker";

export type { HandlerResult };

/**
 * Runs the handler module's default export `(query, data)` in workers.
 *
 * @example
 * ```ts
 * await using pool = new HandlerPool("handler.ts", { timeoutMs: 1000 });
 * await pool.start({ people: { "1": { name: "Ada" } } });
 * await pool.run("t", "1"); // { ok: true, text: "Ada" }
 * ```
 */
export class HandlerPool implements AsyncDisposable {
  readonly #url: string;
  readonly #log: Logger;
  readonly #size: number;
  readonly #timeoutMs: number;
  readonly #maxQueued: number;
  readonly #maxQueuedChars: number;
  readonly #memoryMb: number;
  readonly #policy: SlotPolicy;
  readonly #slots: HandlerSlot[] = [];
  readonly #data: Record<string, unknown> = {};
  #nextId = 1;
  #sweeper: ReturnType<typeof setInterval> | undefined;
  #closed = false;
  #replaced = 0;

  constructor(handlerPath: string, options: HandlerPoolOptions = {}) {
    this.#url = pathToFileURL(handlerPath).href;
    this.#log = options.logger ?? nullLogger;
    this.#size = Math.max(1, options.size ?? 2);
    this.#timeoutMs = options.timeoutMs ?? 1000;
    this.#maxQueued = options.maxQueued ?? 10000;
    this.#maxQueuedChars = options.maxQueuedChars ?? MAX_QUEUED_CHARS;
    this.#memoryMb = options.memoryMb ?? 256;
    this.#policy = {
      maxBatch: Math.max(1, options.maxBatch ?? 256),
      timeoutMs: this.#timeoutMs,
      closed: () => this.#closed,
    };
  }

  /** Queries sent to a worker or waiting for one, not answered yet. */
  get pending(): number {
    let n = 0;
    for (const s of this.#slots) n += s.inFlight.size + s.waiting;
    return n;
  }

  /** Handler workers started (a replaced one counts once). */
  get workers(): number {
    return this.#slots.length;
  }

  /** How many workers were replaced after a timeout or crash. */
  get replaced(): number {
    return this.#replaced;
  }

  /**
   * Starts the workers with `data` and resolves when each has loaded the
   * handler module; rejects with the module's error otherwise.
   */
  async start(data: Record<string, unknown> = {}): Promise<void> {
    Object.assign(this.#data, data);
    const started = Array.from({ length: this.#size }, () => this.#spawn());
    this.#slots.push(...started.map((s) => s.slot));
    try {
      await Promise.all(started.map((s) => s.ready));
    } catch (err) {
      await this.close();
      throw err;
    }
    const every = Math.max(5, Math.min(50, Math.floor(this.#timeoutMs / 4)));
    this.#sweeper = setInterval(() => this.#sweep(), every);
  }

  #spawn(): { slot: HandlerSlot; ready: Promise<void> } {
    const slot = new HandlerSlot(this.#policy);
    let ready: Promise<void> | undefined;
    slot.client = new WorkerClient<typeof handlerMethods>(
      () =>
        threadWorker(new URL("./handler_worker.ts", import.meta.url), {
          resourceLimits: {
            maxOldGenerationSizeMb: this.#memoryMb,
            maxYoungGenerationSizeMb: Math.max(4, Math.min(64, Math.floor(this.#memoryMb / 8))),
          },
        }),
      {
        name: WORKER_NAME,
        onStart: (client) => {
          // onStart runs in the constructor, before `slot.client` is set.
          const loaded = this.#startWorker(slot, client as typeof slot.client);
          ready ??= loaded;
        },
        onEvent: (name, data) => {
          if (name !== "replies") return;
          const m = data as HandlerRepliesEvent;
          slot.onReplies(m.replies, m.batchDone);
        },
        onCrash: (err) => this.#onCrash(slot, err),
      },
    );
    return { slot, ready: ready! };
  }

  /**
   * Sets up a new worker of `slot` (its lane, the handler module, the data);
   * resolves when it has loaded the handler module.
   */
  #startWorker(slot: HandlerSlot, client: WorkerClient<typeof handlerMethods>): Promise<void> {
    const generation = slot.renew();
    const lane = slot.lane!;
    const loaded = client.call("init", this.#url);
    loaded.catch((err: Error) => {
      // A crash is handled by #onCrash; a failure to load fails the slot's queries.
      if (generation !== slot.generation || this.#closed) return;
      // At start() the error rejects start() (the caller reports it once); later, log it.
      if (this.#sweeper !== undefined) {
        this.#log.error("handler module failed to load", { error: err.message });
      }
      slot.failAll(err.message);
    });
    client.post("lane", lane.memory);
    lane.nudge();
    for (const [name, d] of Object.entries(this.#data)) {
      client.post("data", { name, data: d });
      lane.nudge();
    }
    return loaded;
  }

  /**
   * After the worker of `slot` died or was restarted (a new one is already
   * starting): see `_handler_recovery.ts` for which queries fail and which
   * run again.
   */
  #onCrash(slot: HandlerSlot, err: Error): void {
    if (this.#closed) return;
    const timedOut = slot.timedOut;
    slot.timedOut = undefined;
    const crash = err instanceof WorkerCrashedError ? err : undefined;
    if (!timedOut) {
      this.#log.error("handler worker crashed; replacing it", {
        error: crash?.reason ?? err.message,
      });
    }
    this.#replaced++;
    const reason = crash?.code === "ERR_WORKER_OUT_OF_MEMORY"
      ? `The handler went over its ${this.#memoryMb} MiB heap cap (--handler-memory) and its worker was replaced`
      : err.message;
    const { failed, again } = afterWorkerLoss(slot, timedOut);
    for (const p of failed) p.resolve({ ok: false, error: reason });
    for (const p of again) this.#enqueue(p);
  }

  #sweep(): void {
    const now = performance.now();
    const error = `The handler did not answer within the ${this.#timeoutMs} ms time limit`;
    for (const slot of [...this.#slots]) {
      const failed = lateQueries(slot, now);
      if (!failed) continue;
      // Deno 2.9 does not stop a worker stuck in a synchronous loop (denoland/deno#35657): the
      // replacement serves, the old thread may go on using a CPU until the process ends.
      this.#log.error(
        "handler timed out or reached its memory cap; its worker is replaced, but a handler stuck in a loop keeps its thread busy until the server restarts (Deno cannot stop it)",
        {
          timeoutMs: this.#timeoutMs,
          memoryMb: this.#memoryMb,
          failed: failed.size,
          retried: slot.inFlight.size - failed.size,
          replaced: this.#replaced + 1, // with this one (counted once it is gone)
        },
      );
      slot.timedOut = failed;
      slot.client.restart(error);
    }
  }

  /**
   * Where the next query goes: an idle worker (fewest waiting first), else
   * the worker whose current batch started most recently, since a worker
   * busy for longer is the one more likely to be stuck.
   */
  #pick(): HandlerSlot | undefined {
    let idle: HandlerSlot | undefined;
    let freshest: HandlerSlot | undefined;
    for (const s of this.#slots) {
      if (!s.busy) {
        if (!idle || s.waiting < idle.waiting) idle = s;
      } else if (!freshest || s.batchStart > freshest.batchStart) {
        freshest = s;
      }
    }
    return idle ?? freshest;
  }

  #enqueue(p: Pending): void {
    const slot = this.#pick();
    if (!slot) {
      p.resolve({ ok: false, error: "No handler worker is available" });
      return;
    }
    p.deadline = performance.now() + this.#timeoutMs;
    slot.queue(p);
  }

  /** Why a query of `chars` characters cannot wait now, or `undefined` when it can. */
  #busy(chars: number): string | undefined {
    let n = 0;
    let c = 0;
    for (const s of this.#slots) {
      n += s.waiting;
      c += s.outboxChars;
    }
    if (n >= this.#maxQueued) return `${this.#maxQueued} queries are waiting`;
    // A query larger than the cap alone still runs when none waits.
    if (n > 0 && c + chars > this.#maxQueuedChars) {
      return `${n} queries of ${c} characters in all are waiting (at most ${this.#maxQueuedChars})`;
    }
    return undefined;
  }

  /** Replaces one file's data in every worker (future queries see it). */
  setData(name: string, data: unknown): void {
    this.#data[name] = data;
    if (this.#closed) return;
    for (const s of this.#slots) {
      s.client.post("data", { name, data });
      s.lane!.nudge();
      s.dataPosted = true;
    }
  }

  /**
   * Runs the handler for one query. Never rejects: a throw, a timeout, a
   * full queue or a closed pool is an error result.
   */
  run(representation: RepresentationByte, payload: string): Promise<HandlerResult> {
    return new Promise((resolve) => this.submit(representation, payload, resolve));
  }

  /**
   * {@linkcode run} with a callback instead of a promise (one fewer
   * allocation per query on the hot path). `done` is called exactly once.
   */
  submit(
    representation: RepresentationByte,
    payload: string,
    done: (result: HandlerResult) => void,
  ): void {
    if (this.#closed) return done({ ok: false, error: "The server is shutting down" });
    const busy = this.#busy(payload.length);
    if (busy !== undefined) {
      return done({ ok: false, error: `The server is busy: ${busy} (try again later)` });
    }
    this.#enqueue({
      id: this.#nextId++,
      representation,
      payload,
      deadline: 0,
      retried: false,
      resolve: done,
    });
  }

  /** Fails waiting queries and terminates the workers. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#sweeper);
    for (const s of this.#slots) {
      s.lane?.close();
      s.failAll("The server is shutting down");
    }
    await Promise.all(this.#slots.map((s) => s.client.close()));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
