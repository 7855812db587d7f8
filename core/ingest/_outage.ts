import type { Logger } from "../log/mod.ts";
import type { IngestMetrics } from "./metrics.ts";
import { type Spool, SpoolFullError } from "./_spool.ts";
import type { BatchStore } from "./_store.ts";
import type { Batch } from "./_batch.ts";

/** What the outage loop needs from the batching pipeline (see `BatchWriter`). */
export interface OutageQueue {
  /** Batches in flight to Redis. */
  readonly inflight: number;
  /** Sealed batches waiting, oldest first; the loop spools them from the front. */
  readonly sealed: Batch[];
  /** Objects in the open batch. */
  readonly openObjects: number;
  /** Whether the writer is closing (nothing may stay in memory). */
  readonly closing: boolean;
  /** Seals the open batch (nothing when it is empty). */
  seal(): void;
  /** Tells a batch's owners it is in Redis or, when `spooled`, in the spool. */
  done(batch: Batch, spooled: boolean): void;
  /** Writes sealed batches to Redis (live mode). */
  pump(): void;
}

/** Options for {@linkcode Outage}. */
export interface OutageOptions {
  /** Where batches go. */
  store: BatchStore;
  /** The pipeline whose batches are spooled and replayed. */
  queue: OutageQueue;
  /** Disk spool. Default: none (batches wait in memory). */
  spool?: Spool | undefined;
  /** Counters to update. Default: none. */
  metrics?: IngestMetrics | undefined;
  /** Logger. */
  logger: Logger;
  /** Pause between reconnect attempts, ms. */
  retryMs: number;
}

/**
 * The outage state machine of a `BatchWriter`: `live` while batches go to
 * Redis; `down` from the first lost write until the spool is replayed, during
 * which a background loop spools sealed batches in order, reconnects every
 * `retryMs`, replays the spool in order, and only then goes live again.
 */
export class Outage {
  readonly #store: BatchStore;
  readonly #q: OutageQueue;
  readonly #spool: Spool | undefined;
  readonly #metrics: IngestMetrics | undefined;
  readonly #log: Logger;
  readonly #retryMs: number;
  /** `live`: writing to Redis; `down`: spooling and reconnecting, or replaying the spool. */
  #mode: "live" | "down" = "live";
  #loop: Promise<void> | undefined;
  #wake: (() => void) | undefined;
  #stopped = false;
  /** The spool was full at the last try (logged once per episode). */
  #spoolFull = false;

  constructor(options: OutageOptions) {
    this.#store = options.store;
    this.#q = options.queue;
    this.#spool = options.spool;
    this.#metrics = options.metrics;
    this.#log = options.logger;
    this.#retryMs = options.retryMs;
  }

  /** Whether batches go to Redis now (not spooling or replaying). */
  get live(): boolean {
    return this.#mode === "live";
  }

  /** Enters the `down` mode (once per outage) and starts the background loop. */
  goDown(reason: string): void {
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

  /** Ends the loop's pause between attempts early (new batches or a close). */
  wake(): void {
    this.#wake?.();
  }

  /** Stops the background loop; resolves once it has returned. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#wake?.();
    await this.#loop;
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
    const q = this.#q;
    let nextProbe = 0;
    while (true) {
      // 1. Persist what is waiting (all of it when closing: nothing may stay in memory).
      if (q.inflight === 0) {
        if (q.closing || q.sealed.length === 0) q.seal();
        await this.#spoolSealed();
      }
      // 2. Try Redis again.
      const now = Date.now();
      if (now >= nextProbe && q.inflight === 0) {
        nextProbe = now + this.#retryMs;
        try {
          await this.#store.connect();
          if (await this.#replay()) {
            this.#mode = "live";
            this.#log.info("Redis is back: writing live again", { redis: this.#store.label });
            q.pump();
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
    const q = this.#q;
    while (q.sealed.length > 0) {
      const b = q.sealed[0]!;
      try {
        await spool.append(b.toStore(), q.closing);
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
      q.sealed.shift();
      this.#spoolGauges();
      q.done(b, true);
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
    const q = this.#q;
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
        if (q.sealed.length > 0 || (q.closing && q.openObjects > 0)) {
          if (q.closing) q.seal();
          await this.#spoolSealed();
        }
      }
    }
    // Without a spool, batches waiting in memory are written in order by live
    // mode; a lost stream batch that was in fact applied is not written twice.
    for (const b of [...q.sealed]) {
      if (b.uncertain && b.marker !== undefined && await this.#store.applied(b.marker)) {
        const i = q.sealed.indexOf(b);
        if (i >= 0) q.sealed.splice(i, 1);
        q.done(b, false);
      }
    }
    // A connection that stayed open proves nothing when Redis refused writes
    // (READONLY, OOM...): the oldest waiting batch is the probe, so the
    // others are not sent to a Redis that still refuses them.
    const probe = q.sealed[0];
    if (!spool && probe && q.inflight === 0) {
      probe.failures = await this.#store.write(probe.toStore());
      if (q.sealed[0] === probe) q.sealed.shift();
      q.done(probe, false);
    }
    return true;
  }
}
