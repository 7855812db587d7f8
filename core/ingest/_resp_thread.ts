import { RespStore, type RespStoreOptions } from "./_resp_store.ts";
import {
  type BatchStore,
  type ObjectFailure,
  type StoreBatch,
  StoreUnavailableError,
} from "./_store.ts";
import { webWorker, type WireError, WorkerClient } from "../worker/mod.ts";
import type { respThreadMethods } from "./_resp_thread_worker.ts";

type Methods = typeof respThreadMethods;

/**
 * A {@linkcode RespStore} whose socket lives on its own thread (a Web
 * Worker). Why: Deno's event loop polls its I/O reactor only when the loop
 * runs out of ready work. While clients keep the main thread busy (their
 * sockets stay readable), the Redis socket's replies sit unread for as long
 * as input keeps coming, so the next batches are not sent and Redis idles
 * (measured: ~150 ms gaps with all batches answered but unread). On its own
 * thread the Redis socket is served as soon as replies arrive, and batches
 * are handed over through a channel that needs no I/O polling. Same
 * semantics as `RespStore`: requests are applied in the order they are made.
 */
export class ThreadedRespStore implements BatchStore {
  readonly label: string;
  readonly #worker: WorkerClient<Methods>;
  #connected = false;
  /** Why the thread died (an uncaught error); every later call fails with it. */
  #dead: string | undefined;
  #closed: Promise<void> | undefined;

  constructor(url: string, options: RespStoreOptions = {}) {
    // Validates the URL and computes the label exactly as the store does.
    this.label = new RespStore(url, options).label;
    const die = (message: string) => {
      this.#dead ??= message;
      this.#connected = false;
    };
    this.#worker = new WorkerClient<Methods>(
      () => webWorker(new URL("./_resp_thread_worker.ts", import.meta.url)),
      {
        name: `Redis thread for ${this.label}`,
        respawn: false,
        reviveError,
        onCrash: (err) => die(err.message),
        onEvent: (name, data) => {
          if (name === "error") {
            die(`Redis thread for ${this.label} failed: ${(data as WireError).message}`);
          }
        },
      },
    );
    this.#worker.post("init", { url, options });
  }

  get connected(): boolean {
    return this.#connected;
  }

  async #call<K extends "connect" | "write" | "applied">(
    method: K,
    arg: Parameters<Methods[K]>[0],
  ): Promise<Awaited<ReturnType<Methods[K]>>> {
    if (this.#closed) throw new StoreUnavailableError("Redis store is closed");
    if (this.#dead) throw new StoreUnavailableError(this.#dead);
    try {
      return await this.#worker.call(method, arg) as Awaited<ReturnType<Methods[K]>>;
    } catch (err) {
      if (err instanceof StoreUnavailableError) this.#connected = false;
      else if (this.#dead || this.#closed) throw new StoreUnavailableError((err as Error).message);
      throw err;
    }
  }

  async connect(): Promise<void> {
    await this.#call("connect", undefined);
    this.#connected = true;
  }

  write(batch: StoreBatch): Promise<ObjectFailure[]> {
    return this.#call("write", batch);
  }

  applied(marker: string): Promise<boolean> {
    return this.#call("applied", marker);
  }

  close(): Promise<void> {
    // Waits for the thread's goodbye (its socket closed) at most 2 s, then terminates it.
    this.#closed ??= this.#worker.close({ goodbye: "close", timeoutMs: 2000 }).then(() => {
      this.#connected = false;
    });
    return this.#closed;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** A failure from the Redis thread, with `StoreUnavailableError` revived (it means "spool it"). */
function reviveError(e: WireError): Error {
  return e.name === "StoreUnavailableError"
    ? new StoreUnavailableError(e.message)
    : new Error(e.message);
}
