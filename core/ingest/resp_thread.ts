import { RespStore, type RespStoreOptions } from "./resp_store.ts";
import {
  type BatchStore,
  type ObjectFailure,
  type StoreBatch,
  StoreUnavailableError,
} from "./store.ts";
import { settlesWithin } from "../async/mod.ts";

/** A request to the Redis thread. */
export type ThreadRequest =
  | { op: "init"; url: string; options: RespStoreOptions }
  | { op: "connect"; id: number }
  | { op: "write"; id: number; batch: StoreBatch }
  | { op: "applied"; id: number; marker: string }
  | { op: "close"; id: number };

/** The Redis thread's answer to request `id`. */
export type ThreadReply =
  | { id: number; ok: true; value: unknown }
  | { id: number; ok: false; unavailable: boolean; message: string };

/** A request without its id (added by the caller). */
type CallRequest =
  | { op: "connect" }
  | { op: "write"; batch: StoreBatch }
  | { op: "applied"; marker: string };

interface Waiter {
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
}

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
  readonly #worker: Worker;
  readonly #waiters = new Map<number, Waiter>();
  #next = 1;
  #connected = false;
  /** Why the thread died (an uncaught error); every later call fails with it. */
  #dead: string | undefined;
  #closed: Promise<void> | undefined;

  constructor(url: string, options: RespStoreOptions = {}) {
    // Validates the URL and computes the label exactly as the store does.
    this.label = new RespStore(url, options).label;
    this.#worker = new Worker(new URL("./resp_thread_worker.ts", import.meta.url), {
      type: "module",
    });
    this.#worker.onmessage = (e: MessageEvent<ThreadReply>) => this.#onReply(e.data);
    this.#worker.onerror = (e) => {
      e.preventDefault();
      this.#dead = `Redis thread for ${this.label} failed: ${e.message}`;
      this.#failAll(this.#dead);
    };
    this.#worker.postMessage({ op: "init", url, options } satisfies ThreadRequest);
  }

  get connected(): boolean {
    return this.#connected;
  }

  #onReply(r: ThreadReply): void {
    const w = this.#waiters.get(r.id);
    if (!w) return;
    this.#waiters.delete(r.id);
    if (r.ok) w.resolve(r.value);
    else {
      if (r.unavailable) this.#connected = false;
      w.reject(r.unavailable ? new StoreUnavailableError(r.message) : new Error(r.message));
    }
  }

  #failAll(message: string): void {
    this.#connected = false;
    const waiters = [...this.#waiters.values()];
    this.#waiters.clear();
    for (const w of waiters) w.reject(new StoreUnavailableError(message));
  }

  #call<T>(req: CallRequest): Promise<T> {
    if (this.#closed) return Promise.reject(new StoreUnavailableError("Redis store is closed"));
    if (this.#dead) return Promise.reject(new StoreUnavailableError(this.#dead));
    const id = this.#next++;
    return new Promise<T>((resolve, reject) => {
      this.#waiters.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.#worker.postMessage({ ...req, id } as ThreadRequest);
    });
  }

  async connect(): Promise<void> {
    await this.#call<void>({ op: "connect" });
    this.#connected = true;
  }

  write(batch: StoreBatch): Promise<ObjectFailure[]> {
    return this.#call<ObjectFailure[]>({ op: "write", batch });
  }

  applied(marker: string): Promise<boolean> {
    return this.#call<boolean>({ op: "applied", marker });
  }

  close(): Promise<void> {
    this.#closed ??= (async () => {
      const id = this.#next++;
      const done = new Promise<void>((resolve) => {
        this.#waiters.set(id, { resolve: () => resolve(), reject: () => resolve() });
      });
      this.#worker.postMessage({ op: "close", id } satisfies ThreadRequest);
      // Wait for the worker's goodbye at most 2 s; the timer is cleared, so an idle process exits at once.
      await settlesWithin(done, 2000);
      this.#worker.terminate();
      this.#failAll(`Redis store ${this.label} is closed`);
    })();
    return this.#closed;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
