/**
 * Where a record log's `fdatasync` runs. Off the event loop it costs two
 * thread hops (to a blocking thread and back), which on a fast disk are a
 * large part of an acknowledged message's round trip; on the loop it blocks
 * every other connection while the disk works. So it runs on the loop only
 * when it is both cheap and alone:
 *
 * - the recent `fdatasync`s of this process took under {@linkcode SYNC_ON_LOOP_MAX_MS}
 *   on average (a moving average over both kinds; the first one is measured
 *   off the loop), and
 * - no other `fdatasync` is in flight, and none ran on the loop earlier in the
 *   same microtask checkpoint (several logs committing at once go off the
 *   loop together, in parallel, instead of one after another).
 *
 * Redis's `appendfsync always` makes the same trade on every write; here a
 * slow or busy disk moves the syncs back off the loop by itself.
 *
 * A sync nobody waits for soon (`background`: a held-back acknowledgement's
 * received ids) never runs on the loop: on the loop it would stall a round
 * trip in flight on the same thread by the disk's whole time, every few
 * milliseconds (measured: the periodic pairs of 0.8–1.5 ms round trips that
 * set the broker's request p99).
 */

/** The average `fdatasync` time below which one may run on the event loop. */
export const SYNC_ON_LOOP_MAX_MS = 1;

/** Weight of the newest measurement in the moving average. */
const WEIGHT = 0.2;

/** What the gate syncs: an open file (a `Deno.FsFile`). */
export type Syncable = Pick<Deno.FsFile, "syncData" | "syncDataSync">;

/** Decides, per `fdatasync`, whether it runs on the event loop (see the module doc). */
export class _FsyncGate {
  /** The clock the syncs are timed with, ms (`performance.now`; a test's own clock). */
  readonly #now: () => number;
  #averageMs: number | undefined;
  #inFlight = 0;
  #ranOnLoop = false;

  constructor(now: () => number = () => performance.now()) {
    this.#now = now;
  }

  /** The moving average of the `fdatasync` times so far (`undefined` before the first). */
  get averageMs(): number | undefined {
    return this.#averageMs;
  }

  /**
   * `fdatasync`s `file`; resolves `"loop"` or `"thread"`, where it ran.
   * `background`: nobody waits for it soon, so it runs off the loop.
   */
  async sync(file: Syncable, background = false): Promise<"loop" | "thread"> {
    const t = this.#now();
    const avg = this.#averageMs;
    if (
      !background && this.#inFlight === 0 && !this.#ranOnLoop && avg !== undefined &&
      avg < SYNC_ON_LOOP_MAX_MS
    ) {
      this.#ranOnLoop = true;
      queueMicrotask(() => this.#ranOnLoop = false);
      try {
        file.syncDataSync();
      } finally {
        this.#measured(this.#now() - t);
      }
      return "loop";
    }
    this.#inFlight++;
    try {
      await file.syncData();
    } finally {
      this.#inFlight--;
      this.#measured(this.#now() - t);
    }
    return "thread";
  }

  #measured(ms: number): void {
    const avg = this.#averageMs;
    this.#averageMs = avg === undefined ? ms : avg + WEIGHT * (ms - avg);
  }
}

/** The gate every record log of this thread shares. */
export const fsyncGate: _FsyncGate = new _FsyncGate();
