/**
 * A pool of handler workers with a time limit per query. A query that
 * throws is an error result; a query still running at its deadline gets an
 * error result, its worker is terminated and replaced, and the queries that
 * were waiting behind it on that worker run again elsewhere. Other workers
 * keep answering meanwhile.
 */
import { pathToFileURL } from "node:url";
import { type Logger, nullLogger } from "../log/mod.ts";
import type { HandlerWorkerEvent, HandlerWorkerRequest } from "./handler_messages.ts";
import type { RepresentationByte } from "./wire.ts";

/** Options for {@linkcode HandlerPool}. */
export interface HandlerPoolOptions {
  /** Number of workers. Default 2 (one stuck handler never stops the others). */
  size?: number;
  /** Time limit per query, ms. Default 1000. */
  timeoutMs?: number;
  /** Queries sent to one worker before waiting for its replies. Default 32. */
  maxInFlightPerWorker?: number;
  /** Queries waiting for a worker before new ones are refused. Default 10000. */
  maxQueued?: number;
  /** Logger for worker failures and replacements. Default: silent. */
  logger?: Logger;
}

/** The outcome of one query: the reply text, or an error message. */
export type HandlerResult = { ok: true; text: string } | { ok: false; error: string };

interface Pending {
  id: number;
  representation: RepresentationByte;
  payload: string;
  deadline: number;
  retried: boolean;
  resolve: (r: HandlerResult) => void;
}

interface Slot {
  worker: Worker;
  inFlight: Map<number, Pending>;
  dead: boolean;
}

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
  readonly #maxInFlight: number;
  readonly #maxQueued: number;
  readonly #slots: Slot[] = [];
  readonly #queue: Pending[] = [];
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
    this.#maxInFlight = Math.max(1, options.maxInFlightPerWorker ?? 32);
    this.#maxQueued = options.maxQueued ?? 10000;
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

  #spawn(): { slot: Slot; ready: Promise<void> } {
    const worker = new Worker(new URL("./handler_worker.ts", import.meta.url), {
      type: "module",
    });
    const slot: Slot = { worker, inFlight: new Map(), dead: false };
    let settle: ((err?: Error) => void) | undefined;
    const ready = new Promise<void>((resolve, reject) => {
      settle = (err) => {
        settle = undefined;
        if (err) reject(err);
        else resolve();
      };
    });
    ready.catch(() => {});
    worker.onmessage = (e: MessageEvent<HandlerWorkerEvent>) => {
      const m = e.data;
      switch (m.type) {
        case "ready":
          settle?.();
          break;
        case "fatal":
          this.#log.error("handler module failed to load", { error: m.error });
          settle?.(new Error(m.error));
          this.#failAll(slot, m.error);
          break;
        case "reply":
        case "error": {
          const p = slot.inFlight.get(m.id);
          if (!p) break;
          slot.inFlight.delete(m.id);
          p.resolve(
            m.type === "reply" ? { ok: true, text: m.text } : { ok: false, error: m.error },
          );
          this.#drain();
          break;
        }
      }
    };
    worker.onerror = (e) => {
      e.preventDefault();
      const error = `The handler worker crashed: ${e.message}`;
      this.#log.error("handler worker crashed; replacing it", { error: e.message });
      settle?.(new Error(error));
      this.#replace(slot, undefined, error);
    };
    this.#send(slot, { type: "init", url: this.#url });
    for (const [name, d] of Object.entries(this.#data)) {
      this.#send(slot, { type: "data", name, data: d });
    }
    return { slot, ready };
  }

  #send(slot: Slot, m: HandlerWorkerRequest): void {
    slot.worker.postMessage(m);
  }

  #failAll(slot: Slot, error: string): void {
    for (const p of slot.inFlight.values()) p.resolve({ ok: false, error });
    slot.inFlight.clear();
  }

  /** Replaces the worker of `slot`; `culprit` gets `error`, the rest run again. */
  #replace(slot: Slot, culprit: Pending | undefined, error: string): void {
    if (slot.dead) return;
    slot.dead = true;
    slot.worker.terminate();
    this.#replaced++;
    const others: Pending[] = [];
    for (const p of slot.inFlight.values()) {
      if (p === culprit || (culprit === undefined && p.retried)) {
        p.resolve({ ok: false, error });
      } else {
        p.retried = true;
        others.push(p);
      }
    }
    slot.inFlight.clear();
    const i = this.#slots.indexOf(slot);
    if (!this.#closed && i >= 0) this.#slots[i] = this.#spawn().slot;
    this.#queue.unshift(...others);
    this.#drain();
  }

  #sweep(): void {
    const now = performance.now();
    for (const slot of [...this.#slots]) {
      const oldest = slot.inFlight.values().next().value;
      if (oldest && now > oldest.deadline) {
        this.#log.warn("handler timed out; replacing its worker", {
          timeoutMs: this.#timeoutMs,
        });
        this.#replace(
          slot,
          oldest,
          `The handler did not answer within the ${this.#timeoutMs} ms time limit`,
        );
      }
    }
  }

  #pick(): Slot | undefined {
    let best: Slot | undefined;
    for (const s of this.#slots) {
      if (s.dead || s.inFlight.size >= this.#maxInFlight) continue;
      if (!best || s.inFlight.size < best.inFlight.size) best = s;
    }
    return best;
  }

  #dispatch(slot: Slot, p: Pending): void {
    p.deadline = performance.now() + this.#timeoutMs;
    slot.inFlight.set(p.id, p);
    this.#send(slot, {
      type: "query",
      id: p.id,
      representation: p.representation,
      payload: p.payload,
    });
  }

  #drain(): void {
    while (this.#queue.length > 0) {
      const slot = this.#pick();
      if (!slot) return;
      this.#dispatch(slot, this.#queue.shift()!);
    }
  }

  /** Replaces one file's data in every worker (future queries see it). */
  setData(name: string, data: unknown): void {
    this.#data[name] = data;
    for (const s of this.#slots) if (!s.dead) this.#send(s, { type: "data", name, data });
  }

  /**
   * Runs the handler for one query. Never rejects: a throw, a timeout, a
   * full queue or a closed pool is an error result.
   */
  run(representation: RepresentationByte, payload: string): Promise<HandlerResult> {
    if (this.#closed) {
      return Promise.resolve({ ok: false, error: "The server is shutting down" });
    }
    return new Promise((resolve) => {
      const p: Pending = {
        id: this.#nextId++,
        representation,
        payload,
        deadline: 0,
        retried: false,
        resolve,
      };
      const slot = this.#queue.length === 0 ? this.#pick() : undefined;
      if (slot) this.#dispatch(slot, p);
      else if (this.#queue.length >= this.#maxQueued) {
        resolve({
          ok: false,
          error: `The server is busy: ${this.#maxQueued} queries are waiting (try again later)`,
        });
      } else this.#queue.push(p);
    });
  }

  /** Fails waiting queries and terminates the workers. Idempotent. */
  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    clearInterval(this.#sweeper);
    for (const p of this.#queue.splice(0)) {
      p.resolve({ ok: false, error: "The server is shutting down" });
    }
    for (const s of this.#slots) {
      s.dead = true;
      this.#failAll(s, "The server is shutting down");
      s.worker.terminate();
    }
    return Promise.resolve();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
