import { type Logger, nullLogger } from "../log/mod.ts";
import { RespBuffer } from "./resp_buffer.ts";
import type { IngestMetrics } from "./metrics.ts";
import { type Spool, SpoolFullError } from "./spool.ts";
import {
  type Atomicity,
  type BatchStore,
  type ObjectFailure,
  type StoreBatch,
  StoreUnavailableError,
} from "./store.ts";
import { settlesWithin } from "../async/mod.ts";

/** Who is told what became of the objects it added (a client session). */
export interface WriteOwner {
  /**
   * `stored` objects are in Redis or, when `spooled`, in the disk spool (they
   * reach Redis when it returns); `failed` were refused by Redis (`reason`).
   */
  settled(stored: number, failed: number, reason: string | undefined, spooled: boolean): void;
}

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

class Batch {
  /** RESP of the objects' commands. */
  buf = new RespBuffer();
  /** Command count of each object. */
  counts: number[] = [];
  /** Runs of owners: `owners[i]` added `counts[i]` objects in a row. */
  owners: WriteOwner[] = [];
  runs: number[] = [];
  objects = 0;
  marker: string | undefined;
  /** Sent to Redis with an unknown outcome. */
  uncertain = false;
  state: "pending" | "ok" | "lost" = "pending";
  failures: ObjectFailure[] = [];

  constructor(readonly atomic: Atomicity) {}

  toStore(): StoreBatch {
    return {
      wire: this.buf.bytes(),
      counts: this.counts,
      atomic: this.atomic,
      ...(this.marker !== undefined ? { marker: this.marker } : {}),
    };
  }
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
 * const n = encodeKvMembers(splitMembers(text, bytes)!, "", true, w.perObject, w.buffer());
 * w.added(owner, n);
 * await w.close(); // everything is in Redis or the spool
 * ```
 */
export class BatchWriter implements AsyncDisposable {
  readonly #store: BatchStore;
  readonly #spool: Spool | undefined;
  readonly #metrics: IngestMetrics | undefined;
  readonly #log: Logger;
  readonly #maxBatch: number;
  readonly #maxInflight: number;
  readonly #high: number;
  readonly #low: number;
  readonly #retryMs: number;
  readonly #markerPrefix: string | undefined;
  readonly #atomic: Atomicity;
  #open: Batch;
  #sealed: Batch[] = [];
  #inflight: Batch[] = [];
  /** Batches lost with a failed connection, waiting for the other in-flight ones to settle. */
  #retry: Batch[] = [];
  #queued = 0;
  /** `live`: writing to Redis; `down`: spooling and reconnecting, or replaying the spool. */
  #mode: "live" | "down" = "live";
  #loop: Promise<void> | undefined;
  #scheduled = false;
  #lowWaiters: Array<() => void> = [];
  #idleWaiters: Array<() => void> = [];
  #closing = false;
  #closed: Promise<void> | undefined;
  #wake: (() => void) | undefined;
  #stopped = false;
  /** The spool was full at the last try (logged once per episode). */
  #spoolFull = false;

  constructor(options: BatchWriterOptions) {
    this.#store = options.store;
    this.#spool = options.spool;
    this.#metrics = options.metrics;
    // The gauge reads the queue when rendered: it was only updated when a batch settled.
    if (options.metrics) options.metrics.queuedSource = () => this.#queued;
    this.#log = options.logger ?? nullLogger;
    this.#maxBatch = options.maxBatch ?? 1024;
    this.#maxInflight = options.maxInflight ?? 16;
    this.#high = options.highWater ?? 32768;
    this.#low = options.lowWater ?? Math.floor(this.#high / 4);
    this.#retryMs = options.retryMs ?? 250;
    this.#markerPrefix = options.markerPrefix;
    this.#atomic = options.markerPrefix !== undefined ? "batch" : "object";
    this.#open = new Batch(this.#atomic);
    if (this.#spool && !this.#spool.empty) this.#goDown("records left in the spool");
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
    return this.#mode === "live";
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

  /** The open batch's buffer: encode one object into it, then call {@linkcode added}. */
  buffer(): RespBuffer {
    return this.#open.buf;
  }

  /** Records that `owner` encoded one object of `commandCount` commands into {@linkcode buffer}. */
  added(owner: WriteOwner, commandCount: number): void {
    if (this.#closed) throw new Error("Cannot add to a closed writer");
    const b = this.#open;
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
  }

  /** Whether batches are applied per object (kv) rather than as one transaction (stream). */
  get perObject(): boolean {
    return this.#atomic === "object";
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
    if (this.#mode !== "live") {
      this.#wake?.();
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
    if (err) this.#goDown(err.message);
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
    if (this.#mode === "live") this.#pump();
    else this.#wake?.();
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
    let obj = 0;
    for (let i = 0; i < b.owners.length; i++) {
      const n = b.runs[i]!;
      let failed = 0;
      let reason: string | undefined;
      if (failedByObject.size > 0) {
        for (let j = obj; j < obj + n; j++) {
          const r = failedByObject.get(j);
          if (r !== undefined) {
            failed++;
            reason ??= r;
          }
        }
      }
      obj += n;
      try {
        b.owners[i]!.settled(n - failed, failed, reason, spooled);
      } catch (err) {
        this.#log.error("write owner callback failed", { error: String(err) });
      }
    }
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

  #goDown(reason: string): void {
    if (this.#mode === "down") return;
    this.#mode = "down";
    if (this.#metrics) this.#metrics.redisErrors++;
    this.#log.warn(
      this.#spool
        ? "Redis unavailable: spooling batches to disk until it is back"
        : "Redis unavailable: holding batches in memory until it is back",
      { redis: this.#store.label, reason },
    );
    this.#loop ??= this.#downLoop().finally(() => this.#loop = undefined);
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => done(), ms);
      const done = () => {
        clearTimeout(t);
        this.#wake = undefined;
        resolve();
      };
      this.#wake = done;
    });
  }

  /** Spools sealed batches, reconnects, replays the spool; returns once live again. */
  async #downLoop(): Promise<void> {
    let nextProbe = 0;
    while (true) {
      // 1. Persist what is waiting (all of it when closing: nothing may stay in memory).
      if (this.#inflight.length === 0) {
        if (this.#closing || this.#sealed.length === 0) this.#seal();
        await this.#spoolSealed();
      }
      // 2. Try Redis again.
      const now = Date.now();
      if (now >= nextProbe && this.#inflight.length === 0) {
        nextProbe = now + this.#retryMs;
        try {
          await this.#store.connect();
          if (await this.#replay()) {
            this.#mode = "live";
            this.#log.info("Redis is back: writing live again", { redis: this.#store.label });
            this.#pump();
            return;
          }
        } catch (err) {
          this.#log.debug("Redis still unavailable", { error: (err as Error).message });
        }
      }
      if (this.#stopped) return;
      await this.#sleep(Math.max(5, nextProbe - Date.now()));
    }
  }

  async #spoolSealed(): Promise<void> {
    const spool = this.#spool;
    if (!spool) return;
    while (this.#sealed.length > 0) {
      const b = this.#sealed[0]!;
      try {
        await spool.append(b.toStore(), this.#closing);
      } catch (err) {
        if (err instanceof SpoolFullError) {
          if (!this.#spoolFull) {
            this.#spoolFull = true;
            this.#log.warn("spool full: input paused until Redis is back or space is freed", {
              spool: spool.dir,
              reason: err.message,
            });
          }
          return;
        }
        // Any other write error (EIO...): keep the batch, pause like a full spool, retry later.
        if (!this.#spoolFull) {
          this.#spoolFull = true;
          this.#log.error("cannot write the spool: input paused, retrying", {
            spool: spool.dir,
            error: (err as Error).message,
          });
        }
        return;
      }
      if (this.#spoolFull) {
        this.#spoolFull = false;
        this.#log.info("spool takes batches again", { spool: spool.dir });
      }
      this.#sealed.shift();
      this.#spoolGauges();
      this.#done(b, true);
    }
  }

  #spoolGauges(): void {
    if (!this.#metrics || !this.#spool) return;
    this.#metrics.spoolRecords = this.#spool.records;
    this.#metrics.spoolBytes = this.#spool.bytes;
  }

  /** Replays the spool into Redis; true once it is empty and nothing waits to be spooled. */
  async #replay(): Promise<boolean> {
    const spool = this.#spool;
    if (spool) {
      while (true) {
        const rec = await spool.peek();
        if (!rec) break;
        const skip = rec.marker !== undefined && await this.#store.applied(rec.marker);
        if (!skip) {
          const failures = await this.#store.write(rec);
          if (failures.length > 0) {
            this.#log.warn("Redis refused replayed writes", {
              failed: failures.length,
              first: failures[0]!.message,
            });
            if (this.#metrics) this.#metrics.redisErrors += failures.length;
          }
        }
        await spool.commit();
        if (this.#metrics) {
          this.#metrics.objectsReplayed += rec.counts.length;
          this.#metrics.objectsStored += rec.counts.length;
        }
        this.#spoolGauges();
        // Batches that arrived meanwhile go behind the replayed ones.
        if (this.#sealed.length > 0 || (this.#closing && this.#open.objects > 0)) {
          if (this.#closing) this.#seal();
          await this.#spoolSealed();
        }
      }
    }
    // Without a spool, batches waiting in memory are written in order by live
    // mode; a lost stream batch that was in fact applied is not written twice.
    for (const b of [...this.#sealed]) {
      if (b.uncertain && b.marker !== undefined && await this.#store.applied(b.marker)) {
        this.#sealed = this.#sealed.filter((x) => x !== b);
        this.#done(b, false);
      }
    }
    return true;
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
      if (this.#mode === "live") this.#pump();
      else this.#wake?.();
      if (timeoutMs === undefined) await this.idle();
      else await settlesWithin(this.idle(), timeoutMs);
      if (this.#queued > 0) {
        this.#log.error("writer closed with objects neither in Redis nor in the spool", {
          objects: this.#queued,
        });
      }
      this.#stopped = true;
      this.#wake?.();
      await this.#loop;
    })();
    return this.#closed;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
