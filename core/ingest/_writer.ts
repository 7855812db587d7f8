import { type Logger, nullLogger } from "../log/mod.ts";
import type { RespBuffer } from "./_resp_buffer.ts";
import type { IngestMetrics } from "./metrics.ts";
import type { Spool } from "./_spool.ts";
import { type Atomicity, type BatchStore, StoreUnavailableError } from "./_store.ts";
import { settlesWithin } from "../async/mod.ts";
import { Batch, type WriteOwner } from "./_batch.ts";
import { Outage } from "./_outage.ts";

export type { Settlement, WriteOwner } from "./_batch.ts";

/** What the writer tells an {@linkcode ObjectEncoder} about the batch it writes into. */
export interface EncodeOptions {
  /** Wrap an object with several commands in `MULTI`/`EXEC` (the batch is not one transaction). */
  readonly wrap: boolean;
}

/**
 * Writes one object's commands into `out` and returns their count, or a
 * negative number when it wrote nothing and there is no object to add.
 */
export type ObjectEncoder = (out: RespBuffer, options: EncodeOptions) => number;

/** Options for {@linkcode BatchWriter}. */
export interface BatchWriterOptions {
  /** Where batches go. */
  store: BatchStore;
  /** Disk spool for while Redis is unreachable. Default: none (batches wait in memory). */
  spool?: Spool;
  /** Counters to update. Default: none. */
  metrics?: IngestMetrics;
  /** Logger. Default: silent. */
  logger?: Logger;
  /** Objects per batch at most. Default 1024. */
  maxBatch?: number;
  /**
   * Batches in flight to Redis at once. Default 16: their completions reach
   * a busy main thread late (see `ThreadedRespStore`), so the window must
   * cover that delay for Redis to always have work.
   */
  maxInflight?: number;
  /** Queued objects above which input should pause ({@linkcode BatchWriter.overloaded}). Default 32768. */
  highWater?: number;
  /** Queued objects below which paused input resumes. Default `highWater / 4`. */
  lowWater?: number;
  /** Pause between reconnect attempts while Redis is down, ms. Default 250. */
  retryMs?: number;
  /**
   * Prefix of per-batch marker keys. When set, each batch is one transaction
   * with a marker (stream layout); otherwise objects are applied one by one,
   * pipelined (kv layout). Default: unset.
   */
  markerPrefix?: string;
}

/**
 * Batches objects' commands and writes them to Redis in pipelined batches
 * (several in flight), in order. When Redis is unreachable, batches go to the
 * disk spool in the same order, a background loop reconnects and replays the
 * spool in order, and only when it is empty does live writing resume, so
 * order is kept across an outage. {@linkcode BatchWriter.overloaded} and
 * {@linkcode BatchWriter.belowLowWater} let sessions pause reading (TCP
 * backpressure) while the queue is long, for example while a full spool
 * cannot take more.
 *
 * @example
 * ```ts
 * const w = new BatchWriter({ store, spool });
 * w.add(owner, (out, { wrap }) => encodeKvMembers(splitMembers(text, bytes)!, out, { wrap }));
 * await w.close(); // everything is in Redis or the spool
 * ```
 */
export class BatchWriter implements AsyncDisposable {
  readonly #store: BatchStore;
  readonly #metrics: IngestMetrics | undefined;
  readonly #log: Logger;
  readonly #maxBatch: number;
  readonly #maxInflight: number;
  readonly #high: number;
  readonly #low: number;
  readonly #markerPrefix: string | undefined;
  readonly #atomic: Atomicity;
  readonly #encodeOptions: EncodeOptions;
  #open: Batch;
  #sealed: Batch[] = [];
  #inflight: Batch[] = [];
  /** Batches lost with a failed connection, waiting for the other in-flight ones to settle. */
  #retry: Batch[] = [];
  #queued = 0;
  readonly #outage: Outage;
  #scheduled = false;
  #lowWaiters: Array<() => void> = [];
  #idleWaiters: Array<() => void> = [];
  #closing = false;
  #closed: Promise<void> | undefined;

  constructor(options: BatchWriterOptions) {
    this.#store = options.store;
    this.#metrics = options.metrics;
    // The gauge reads the queue when rendered: it was only updated when a batch settled.
    if (options.metrics) options.metrics.queuedSource = () => this.#queued;
    this.#log = options.logger ?? nullLogger;
    this.#maxBatch = options.maxBatch ?? 1024;
    this.#maxInflight = options.maxInflight ?? 16;
    this.#high = options.highWater ?? 32768;
    this.#low = options.lowWater ?? Math.floor(this.#high / 4);
    this.#markerPrefix = options.markerPrefix;
    this.#atomic = options.markerPrefix !== undefined ? "batch" : "object";
    this.#encodeOptions = Object.freeze({ wrap: this.#atomic === "object" });
    this.#open = new Batch(this.#atomic);
    // deno-lint-ignore no-this-alias
    const w = this;
    this.#outage = new Outage({
      store: this.#store,
      spool: options.spool,
      metrics: options.metrics,
      logger: this.#log,
      retryMs: options.retryMs ?? 250,
      queue: {
        get inflight() {
          return w.#inflight.length;
        },
        get sealed() {
          return w.#sealed;
        },
        get openObjects() {
          return w.#open.objects;
        },
        get closing() {
          return w.#closing;
        },
        seal: () => this.#seal(),
        done: (b, spooled) => this.#done(b, spooled),
        pump: () => this.#pump(),
      },
    });
    if (options.spool && !options.spool.empty) this.#outage.goDown("records left in the spool");
  }

  /** Objects accepted and not yet in Redis or the spool. */
  get queued(): number {
    return this.#queued;
  }

  /** Whether input should pause (queue at or above the high-water mark). */
  get overloaded(): boolean {
    return this.#queued >= this.#high;
  }

  /** Whether batches go to Redis now (not spooling or replaying). */
  get live(): boolean {
    return this.#outage.live;
  }

  /** Resolves once the queue is below the low-water mark. */
  belowLowWater(): Promise<void> {
    if (this.#queued < this.#low) return Promise.resolve();
    return new Promise((resolve) => this.#lowWaiters.push(resolve));
  }

  /** Resolves once every object added so far is in Redis or the spool. */
  idle(): Promise<void> {
    if (this.#queued === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /**
   * Adds one object for `owner`: `encode` writes its commands into the open
   * batch. Returns what `encode` returned; a negative count adds nothing.
   */
  add(owner: WriteOwner, encode: ObjectEncoder): number {
    const b = this.#open;
    const commandCount = encode(b.buf, this.#encodeOptions);
    if (commandCount < 0) return commandCount;
    if (this.#closed) throw new Error("Cannot add to a closed writer");
    b.counts.push(commandCount);
    b.objects++;
    const last = b.owners.length - 1;
    if (last >= 0 && b.owners[last] === owner) b.runs[last]!++;
    else {
      b.owners.push(owner);
      b.runs.push(1);
    }
    this.#queued++;
    if (b.objects >= this.#maxBatch) this.#seal();
    this.#schedule();
    return commandCount;
  }

  #seal(): void {
    const b = this.#open;
    if (b.objects === 0) return;
    if (this.#markerPrefix !== undefined) b.marker = this.#markerPrefix + crypto.randomUUID();
    this.#sealed.push(b);
    this.#open = new Batch(this.#atomic);
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    queueMicrotask(() => {
      this.#scheduled = false;
      this.#pump();
    });
  }

  #pump(): void {
    if (!this.#outage.live) {
      this.#outage.wake();
      return;
    }
    while (this.#inflight.length < this.#maxInflight) {
      if (this.#sealed.length === 0) this.#seal();
      const b = this.#sealed.shift();
      if (!b) break;
      this.#inflight.push(b);
      this.#store.write(b.toStore()).then(
        (failures) => {
          b.state = "ok";
          b.failures = failures;
          this.#settle();
        },
        (err) => {
          b.state = "lost";
          if (!(err instanceof StoreUnavailableError)) {
            this.#log.error("unexpected Redis write error", { error: String(err) });
          }
          this.#settle(err);
        },
      );
    }
  }

  #settle(err?: Error): void {
    if (err) this.#outage.goDown(err.message);
    while (this.#inflight.length > 0 && this.#inflight[0]!.state !== "pending") {
      const b = this.#inflight.shift()!;
      if (b.state === "ok") this.#done(b, false);
      else {
        b.uncertain = true;
        b.state = "pending";
        this.#retry.push(b);
      }
    }
    if (this.#inflight.length === 0 && this.#retry.length > 0) {
      // Lost batches go first, in their original order, then the rest.
      this.#sealed = [...this.#retry, ...this.#sealed];
      this.#retry = [];
    }
    if (this.#outage.live) this.#pump();
    else this.#outage.wake();
  }

  #done(b: Batch, spooled: boolean): void {
    const m = this.#metrics;
    const failedByObject = new Map<number, string>();
    for (const f of b.failures) failedByObject.set(f.object, f.message);
    if (m) {
      m.batches += spooled ? 0 : 1;
      m.objectsStored += spooled ? 0 : b.objects - failedByObject.size;
      m.objectsSpooled += spooled ? b.objects : 0;
      m.objectsFailed += failedByObject.size;
      m.redisErrors += failedByObject.size;
    }
    if (b.failures.length > 0) {
      const f = b.failures[0]!;
      this.#log.warn("Redis refused writes", {
        failed: b.failures.length,
        first: f.message,
        object: f.object,
      });
    }
    b.tellOwners(failedByObject, spooled, this.#log);
    this.#queued -= b.objects;
    if (m) m.queued = this.#queued;
    if (this.#queued < this.#low && this.#lowWaiters.length > 0) {
      const w = this.#lowWaiters;
      this.#lowWaiters = [];
      for (const f of w) f();
    }
    if (this.#queued === 0 && this.#idleWaiters.length > 0) {
      const w = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const f of w) f();
    }
  }

  /**
   * Writes everything queued to Redis (or the spool, forcing past its cap if
   * Redis is down) and stops. Resolves when nothing is left in memory, or
   * after `timeoutMs` (default: no limit) with a logged count of what is
   * left. Idempotent.
   */
  close(timeoutMs?: number): Promise<void> {
    this.#closed ??= (async () => {
      this.#closing = true;
      this.#seal();
      if (this.#outage.live) this.#pump();
      else this.#outage.wake();
      if (timeoutMs === undefined) await this.idle();
      else await settlesWithin(this.idle(), timeoutMs);
      if (this.#queued > 0) {
        this.#log.error("writer closed with objects neither in Redis nor in the spool", {
          objects: this.#queued,
        });
      }
      await this.#outage.stop();
    })();
    return this.#closed;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
