/**
 * A pool of handler workers with a time limit per query. Queries go to a
 * worker in batches, at most one batch outstanding per worker (queries that
 * arrive meanwhile wait and go together next, which keeps thread wake-ups
 * per query low under load). A query that throws is an error result. When a
 * worker is still busy at a deadline it is terminated and replaced: a query
 * that was alone in its batch gets a time-limit error; the queries of a
 * larger batch run again, each alone, so the one that never returns is
 * found and the others are answered. Other workers keep answering meanwhile.
 * Batches and their replies travel through a shared-memory lane per worker
 * (`_handler_channel.ts`), by message when too large or after a data update;
 * the messages go through `core/worker`'s {@linkcode WorkerClient}, which
 * also starts a new worker after a crash or a `restart()`.
 */
import { pathToFileURL } from "node:url";
import { type Logger, nullLogger } from "../log/mod.ts";
import { threadWorker, WorkerClient } from "../worker/mod.ts";
import type { HandlerRepliesEvent, WorkerReply } from "./handler_messages.ts";
import type { handlerMethods } from "./handler_worker.ts";
import type { RepresentationByte } from "./wire.ts";
import { PoolLane } from "./_handler_channel.ts";

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
   * Heap cap of each handler worker, MiB (V8 old generation, through
   * `node:worker_threads` resource limits: Deno's Web Workers have none). A
   * handler that reaches it stops there, without taking the process down,
   * and is terminated at its time limit. Default 256.
   */
  memoryMb?: number;
  /** Logger for worker failures and replacements. Default: silent. */
  logger?: Logger;
}

/** Names the worker in errors: `The handler worker crashed: ...`. */
const WORKER_NAME = "The handler worker";

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
  client: WorkerClient<typeof handlerMethods>;
  /** The shared-memory lane of the current worker, for batches and their replies. */
  lane: PoolLane;
  /** Counts the workers of this slot, so a late failure of a replaced one is told apart. */
  generation: number;
  /** Set before `restart()`: the queries that get the time-limit error. */
  timedOut: Set<Pending> | undefined;
  /** A data update was posted since the last batch: the next batch follows it by message. */
  dataPosted: boolean;
  /** Sent and not answered yet. */
  inFlight: Map<number, Pending>;
  /** Waiting for this worker's current batch to finish. */
  outbox: Pending[];
  /** Queries of the current batch (while it runs). */
  batch: Pending[];
  /** A batch was sent and the worker has not finished its synchronous run. */
  busy: boolean;
  /** When the current batch was sent (`performance.now()`). */
  batchStart: number;
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
  readonly #maxBatch: number;
  readonly #maxQueued: number;
  readonly #memoryMb: number;
  readonly #slots: Slot[] = [];
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
    this.#maxBatch = Math.max(1, options.maxBatch ?? 256);
    this.#maxQueued = options.maxQueued ?? 10000;
    this.#memoryMb = options.memoryMb ?? 256;
  }

  /** Queries sent to a worker or waiting for one, not answered yet. */
  get pending(): number {
    let n = 0;
    for (const s of this.#slots) n += s.inFlight.size + s.outbox.length;
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

  #spawn(): { slot: Slot; ready: Promise<void> } {
    const slot = {
      generation: 0,
      timedOut: undefined,
      dataPosted: false,
      inFlight: new Map(),
      outbox: [],
      batch: [],
      busy: false,
      batchStart: 0,
    } as Omit<Slot, "client" | "lane"> as Slot; // both set below: onStart runs in the constructor
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
          const loaded = this.#startWorker(slot, client as typeof slot.client);
          ready ??= loaded;
        },
        onEvent: (name, data) => {
          if (name !== "replies") return;
          const m = data as HandlerRepliesEvent;
          this.#onReplies(slot, m.replies, m.batchDone);
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
  #startWorker(slot: Slot, client: WorkerClient<typeof handlerMethods>): Promise<void> {
    const generation = ++slot.generation;
    slot.lane?.close();
    const lane = slot.lane = new PoolLane();
    const loaded = client.call("init", this.#url);
    loaded.catch((err: Error) => {
      // A crash is handled by #onCrash; a failure to load fails the slot's queries.
      if (generation !== slot.generation || this.#closed) return;
      // At start() the error rejects start() (the caller reports it once); later, log it.
      if (this.#sweeper !== undefined) {
        this.#log.error("handler module failed to load", { error: err.message });
      }
      this.#failAll(slot, err.message);
    });
    client.post("lane", lane.memory);
    lane.nudge();
    void lane.listen((replies) => this.#onReplies(slot, replies, true));
    for (const [name, d] of Object.entries(this.#data)) {
      client.post("data", { name, data: d });
      lane.nudge();
    }
    return loaded;
  }

  #onReplies(slot: Slot, replies: WorkerReply[], batchDone: boolean): void {
    if (this.#closed) return;
    this.#settle(slot, replies);
    if (batchDone) {
      slot.busy = false;
      slot.batch = [];
      this.#flush(slot);
    }
  }

  #settle(slot: Slot, replies: WorkerReply[]): void {
    for (const r of replies) {
      const p = slot.inFlight.get(r.id);
      if (!p) continue;
      slot.inFlight.delete(r.id);
      p.resolve("text" in r ? { ok: true, text: r.text } : { ok: false, error: r.error });
    }
  }

  #failAll(slot: Slot, error: string): void {
    for (const p of slot.inFlight.values()) p.resolve({ ok: false, error });
    for (const p of slot.outbox) p.resolve({ ok: false, error });
    slot.inFlight.clear();
    slot.outbox = [];
  }

  /**
   * After the worker of `slot` died or was restarted (a new one is already
   * starting): the queries that timed out get the time-limit error; after a
   * crash, which query caused it is unknown, so queries run again alone, and
   * one that was already alone gets the crash error. Every other query of the
   * slot waits to run again (alone, when it was part of a batch that did not
   * finish).
   */
  #onCrash(slot: Slot, err: Error): void {
    if (this.#closed) return;
    const timedOut = slot.timedOut;
    slot.timedOut = undefined;
    if (!timedOut) {
      const error = err.message.slice(`${WORKER_NAME} crashed: `.length);
      this.#log.error("handler worker crashed; replacing it", { error });
    }
    const failed = timedOut ??
      new Set([...slot.inFlight.values()].filter((p) => p.retried));
    this.#replaced++;
    const reason = /memory limit/.test(err.message)
      ? `The handler went over its ${this.#memoryMb} MiB heap cap (--handler-memory) and its worker was replaced`
      : err.message;
    const again: Pending[] = [];
    for (const p of slot.inFlight.values()) {
      if (failed.has(p)) p.resolve({ ok: false, error: reason });
      else {
        p.retried = true;
        again.push(p);
      }
    }
    again.push(...slot.outbox);
    slot.inFlight.clear();
    slot.outbox = [];
    slot.batch = [];
    slot.busy = false;
    slot.batchStart = 0;
    slot.dataPosted = false;
    for (const p of again) this.#enqueue(p);
  }

  #sweep(): void {
    const now = performance.now();
    const error = `The handler did not answer within the ${this.#timeoutMs} ms time limit`;
    for (const slot of [...this.#slots]) {
      const late = [...slot.inFlight.values()].filter((p) => now > p.deadline);
      if (late.length === 0) continue;
      const stuckBatch = slot.busy ? slot.batch.filter((p) => slot.inFlight.has(p.id)) : [];
      let failed: Set<Pending>;
      if (slot.busy && stuckBatch.length > 1) {
        // Some query of this batch never returned; run each again alone to find it.
        failed = new Set(late.filter((p) => p.retried));
      } else {
        failed = new Set(late);
      }
      this.#log.warn("handler timed out or reached its memory cap; terminating its worker", {
        timeoutMs: this.#timeoutMs,
        memoryMb: this.#memoryMb,
        failed: failed.size,
        retried: slot.inFlight.size - failed.size,
      });
      slot.timedOut = failed;
      slot.client.restart(error);
    }
  }

  /**
   * Where the next query goes: an idle worker (fewest waiting first), else
   * the worker whose current batch started most recently, since a worker
   * busy for longer is the one more likely to be stuck.
   */
  #pick(): Slot | undefined {
    let idle: Slot | undefined;
    let freshest: Slot | undefined;
    for (const s of this.#slots) {
      if (!s.busy) {
        if (!idle || s.outbox.length < idle.outbox.length) idle = s;
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
    slot.outbox.push(p);
    this.#flush(slot);
  }

  /** Sends the next batch when the worker has none running. */
  #flush(slot: Slot): void {
    if (slot.busy || this.#closed || slot.outbox.length === 0) return;
    const first = slot.outbox[0]!;
    const batch = first.retried ? [first] : [];
    if (!first.retried) {
      while (batch.length < this.#maxBatch && slot.outbox.length > batch.length) {
        const p = slot.outbox[batch.length]!;
        if (p.retried) break;
        batch.push(p);
      }
    }
    slot.outbox.splice(0, batch.length);
    const now = performance.now();
    for (const p of batch) {
      // The time limit counts from when the query's batch starts.
      p.deadline = now + this.#timeoutMs;
      slot.inFlight.set(p.id, p);
    }
    slot.batch = batch;
    slot.busy = true;
    slot.batchStart = now;
    const queries = batch.map((p) => ({
      id: p.id,
      representation: p.representation,
      payload: p.payload,
    }));
    // After a data update the batch goes by message, behind the update.
    if (slot.dataPosted || !slot.lane.send(queries)) {
      const generation = slot.generation;
      slot.client.call("batch", queries).then(
        (replies) => {
          if (generation === slot.generation) this.#onReplies(slot, replies, true);
        },
        () => {}, // the worker died: #onCrash runs the batch's queries again
      );
      slot.lane.nudge();
    }
    slot.dataPosted = false;
  }

  #waiting(): number {
    let n = 0;
    for (const s of this.#slots) n += s.outbox.length;
    return n;
  }

  /** Replaces one file's data in every worker (future queries see it). */
  setData(name: string, data: unknown): void {
    this.#data[name] = data;
    if (this.#closed) return;
    for (const s of this.#slots) {
      s.client.post("data", { name, data });
      s.lane.nudge();
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
    if (this.#waiting() >= this.#maxQueued) {
      return done({
        ok: false,
        error: `The server is busy: ${this.#maxQueued} queries are waiting (try again later)`,
      });
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
      s.lane.close();
      this.#failAll(s, "The server is shutting down");
    }
    await Promise.all(this.#slots.map((s) => s.client.close()));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
