/**
 * One handler worker of the pool and its queue: queries wait in the outbox
 * and go to the worker in batches, at most one batch outstanding (queries
 * that arrive meanwhile go together next, which keeps thread wake-ups per
 * query low under load). A batch holds no more queries than the worker runs
 * in a quarter of the time limit, at the average time per query of its
 * batches so far (a new slot's first batch is one query): the limit counts
 * from the batch's start, so a long batch of legitimate slow queries would
 * otherwise pass it and have its worker replaced. Batches and their replies
 * travel through the worker's shared-memory lane (`_handler_channel.ts`), by
 * message when too large or after a data update.
 */
import type { WorkerClient } from "../worker/mod.ts";
import type { HandlerResult, WorkerQuery, WorkerReply } from "./handler_messages.ts";
import type { handlerMethods } from "./handler_worker.ts";
import type { RepresentationByte } from "./wire.ts";
import { PoolLane } from "./_handler_channel.ts";

/** A query sent to a worker or waiting for one. */
export interface Pending {
  id: number;
  representation: RepresentationByte;
  payload: string;
  /** When its time limit runs out (`performance.now()`), once its batch started. */
  deadline: number;
  /** It was part of a batch that did not finish: it runs again alone. */
  retried: boolean;
  resolve: (r: HandlerResult) => void;
}

/** What a slot needs from its pool. */
export interface SlotPolicy {
  /** Most queries in one batch. */
  maxBatch: number;
  /** Time limit per query, ms. */
  timeoutMs: number;
  /** Whether the pool is closed (replies are then ignored). */
  closed: () => boolean;
}

/** One worker's queue, current batch and lane. */
export class HandlerSlot {
  readonly #policy: SlotPolicy;
  /** Set by the pool right after construction. */
  client!: WorkerClient<typeof handlerMethods>;
  /** The shared-memory lane of the current worker. */
  lane: PoolLane | undefined;
  /** Counts the workers of this slot, so a late failure of a replaced one is told apart. */
  generation = 0;
  /** Set before a restart: the queries that get the time-limit error. */
  timedOut: Set<Pending> | undefined;
  /** A data update was posted since the last batch: the next batch follows it by message. */
  dataPosted = false;
  /** Sent and not answered yet. */
  readonly inFlight = new Map<number, Pending>();
  /** Waiting for this worker's current batch to finish (add with {@linkcode queue}). */
  #outbox: Pending[] = [];
  #outboxChars = 0;

  /** Queries of the current batch (while it runs). */
  batch: Pending[] = [];
  /** A batch was sent and the worker has not finished its synchronous run. */
  busy = false;
  /** When the current batch was sent (`performance.now()`). */
  batchStart = 0;
  /** Moving average of the time per query of this slot's batches, ms (0: none measured yet). */
  #perQueryMs = 0;

  /** Queries waiting in the outbox (added only by {@linkcode queue}). */
  get waiting(): number {
    return this.#outbox.length;
  }

  /** The payload characters of the outbox's queries. */
  get outboxChars(): number {
    return this.#outboxChars;
  }

  constructor(policy: SlotPolicy) {
    this.#policy = policy;
  }

  /** A new worker of this slot starts: a new lane; returns the worker's generation. */
  renew(): number {
    this.lane?.close();
    const lane = this.lane = new PoolLane();
    void lane.listen((replies) => this.onReplies(replies, true));
    return ++this.generation;
  }

  /** Settles replies; `batchDone` ends the current batch and sends the next. */
  onReplies(replies: WorkerReply[], batchDone: boolean): void {
    if (this.#policy.closed()) return;
    for (const r of replies) {
      const p = this.inFlight.get(r.id);
      if (!p) continue;
      this.inFlight.delete(r.id);
      p.resolve("text" in r ? { ok: true, text: r.text } : { ok: false, error: r.error });
    }
    if (!batchDone) return;
    if (this.batch.length > 0) this.#measured(performance.now() - this.batchStart);
    this.busy = false;
    this.batch = [];
    this.flush();
  }

  /** Fails every query of this slot with `error`. */
  failAll(error: string): void {
    for (const p of this.inFlight.values()) p.resolve({ ok: false, error });
    for (const p of this.#outbox) p.resolve({ ok: false, error });
    this.inFlight.clear();
    this.#outbox = [];
    this.#outboxChars = 0;
  }

  /** After its worker died: empties the slot and returns its queries, in flight first. */
  reset(): Pending[] {
    const all = [...this.inFlight.values(), ...this.#outbox];
    this.inFlight.clear();
    this.#outbox = [];
    this.#outboxChars = 0;
    this.batch = [];
    this.busy = false;
    this.batchStart = 0;
    this.dataPosted = false;
    return all;
  }

  /** Adds a query to the outbox and sends it when the worker has no batch running. */
  queue(p: Pending): void {
    this.#outbox.push(p);
    this.#outboxChars += p.payload.length;
    this.flush();
  }

  /** Sends the next batch when the worker has none running. */
  flush(): void {
    if (this.busy || this.#policy.closed() || this.#outbox.length === 0) return;
    const batch = this.#takeBatch();
    const now = performance.now();
    for (const p of batch) {
      // The time limit counts from when the query's batch starts.
      p.deadline = now + this.#policy.timeoutMs;
      this.inFlight.set(p.id, p);
    }
    this.batch = batch;
    this.busy = true;
    this.batchStart = now;
    const queries: WorkerQuery[] = batch.map((p) => ({
      id: p.id,
      representation: p.representation,
      payload: p.payload,
    }));
    const lane = this.lane!;
    // After a data update the batch goes by message, behind the update.
    if (!this.dataPosted && lane.send(queries)) return;
    this.dataPosted = false;
    const generation = this.generation;
    this.client.call("batch", queries).then(
      (replies) => {
        if (generation === this.generation) this.onReplies(replies, true);
      },
      () => {}, // the worker died: the pool runs the batch's queries again
    );
    lane.nudge();
  }

  /** Counts a finished batch of `this.batch.length` queries that ran for `ms`. */
  #measured(ms: number): void {
    const per = ms / this.batch.length;
    this.#perQueryMs = this.#perQueryMs === 0
      ? per
      : this.#perQueryMs + 0.2 * (per - this.#perQueryMs);
  }

  /**
   * The next batch: a query to run again goes alone, others together up to
   * `maxBatch` and what runs in a quarter of the time limit (see the module doc).
   */
  #takeBatch(): Pending[] {
    const first = this.#outbox[0]!;
    let n = 1;
    if (!first.retried && this.#perQueryMs > 0) {
      const inTime = Math.max(1, Math.floor(this.#policy.timeoutMs / 4 / this.#perQueryMs));
      const max = Math.min(this.#policy.maxBatch, inTime, this.#outbox.length);
      while (n < max && !this.#outbox[n]!.retried) n++;
    }
    const batch = this.#outbox.splice(0, n);
    for (const p of batch) this.#outboxChars -= p.payload.length;
    return batch;
  }
}
