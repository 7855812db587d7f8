import type { KV, KvEntry, QueuedIterator, Status } from "nats";
import { delay } from "../../async/mod.ts";
import type { Logger } from "../../log/mod.ts";
import { BrokerError } from "../errors.ts";
import { stopStatus } from "./_status.ts";
import { errorText } from "../../log/mod.ts";

/**
 * How long a read of the whole bucket may go without an entry before it
 * counts as stalled and is started again, ms: the same 5 s within which
 * JetStream must answer the watch's creation (and a store).
 */
export const READ_STALL_MS = 5000;

/**
 * How a {@linkcode KvMirror} follows its NATS connection, how long its
 * first read may stall and where its own trouble is logged: declared once
 * here, and passed whole by whoever makes copies (the cluster's registries
 * and presence), each field `undefined` for its default.
 */
export interface MirrorWatchOptions {
  /**
   * The status events of the bucket's NATS connection (`nc.status`): after
   * each reconnect the watch starts over and the copy is read afresh, and
   * while the connection is lost a failing watch is not the copy's own
   * trouble (whoever owns the connection logs its loss and return).
   * Default: none (the watch starts over only when it ends by itself).
   */
  status?: (() => AsyncIterable<Status>) | undefined;
  /**
   * How long a read of the whole bucket may go without an entry (and
   * without completing) before it fails as stalled, ms (a first read so
   * fails instead of holding up the reader). Default {@linkcode READ_STALL_MS}.
   */
  stallMs?: number | undefined;
  /**
   * Where a copy's own trouble after its first complete read is reported:
   * one warning when its watch fails while the NATS connection is up (the
   * copy is no longer kept current), one info line once the copy is
   * complete again. A copy read again after a lost NATS connection, and
   * nothing else, is logged at debug. Default: nowhere.
   */
  log?: Logger | undefined;
}

/** Options for {@linkcode KvMirror}. */
export interface KvMirrorOptions<T> extends MirrorWatchOptions {
  /** What the bucket holds, for error messages (`"the names held in the cluster"`). */
  what: string;
  /**
   * What to keep for an entry of the bucket, or `undefined` to keep nothing
   * for its key (a delete, a purge, or a value nobody asks for): what is
   * not kept costs no memory and no time in {@linkcode KvMirror.entries}.
   */
  keep(entry: KvEntry): T | undefined;
  /** How long to wait before watching again after a watch failed or ended, ms. Default 1000. */
  retryMs?: number;
}

/** The bucket's name, for log lines (nats.js keeps it on the KV it returns, outside its type). */
function bucketOf(kv: KV): string {
  return String((kv as { bucket?: unknown }).bucket ?? "?");
}

/**
 * A local copy of a JetStream KV bucket's current values, kept by a watch
 * (`kv.watch()`: every key's last value first, then each change as it is
 * stored), so reading it costs no NATS round trip. A watch that fails or
 * ends (NATS gone for long, the consumer lost) is started again after
 * `retryMs`, and after each reconnect of the NATS connection; a restarted
 * watch reads every key again into a new copy, which replaces the old one
 * once complete (until then the old copy is read). The copy lags the
 * bucket by the watch's delivery (milliseconds while NATS is up). A read of
 * the whole bucket that receives nothing for `stallMs` fails (a first read
 * so rejects {@linkcode KvMirror.entries} instead of holding it up) and is
 * started again. Once a copy exists, a watch that fails while the NATS
 * connection is up is logged at warn (once until the copy is complete
 * again, which is logged at info); a lost connection is not the copy's to
 * log (its owner logs it once, not once per copy), and the copy read in
 * full again after it is logged at debug.
 *
 * @example
 * ```ts
 * const keep = (e: KvEntry) => e.operation === "PUT" ? e.string() : undefined;
 * await using held = new KvMirror(kv, { what: "the settings", keep });
 * for (const [key, value] of await held.entries()) console.log(key, value);
 * ```
 */
export class KvMirror<T> implements AsyncDisposable {
  readonly #kv: KV;
  readonly #o: KvMirrorOptions<T>;
  #values = new Map<string, T>();
  /** Settles with the first complete copy (rejects when an attempt before it failed; then renewed). */
  #first = Promise.withResolvers<void>();
  #synced = false;
  #watch: QueuedIterator<KvEntry> | undefined;
  #status: AsyncIterable<Status> | undefined;
  /** The watch was stopped to start over at once (NATS reconnected). */
  #restart = false;
  /**
   * Since when the copy has not been kept current (the NATS connection
   * lost, or watches failing), the failed attempts since, and whether that
   * was the copy's own trouble, reported (a warning, or a rejected first
   * read): then its end is logged at info, else at debug. Undefined while
   * all is well.
   */
  #stale: { since: number; failures: number; reported: boolean } | undefined;
  /** Whether the NATS connection is up, as far as `status` told (always, without it). */
  #connected = true;
  readonly #stop = new AbortController();
  readonly #running: Promise<void>;

  constructor(kv: KV, opts: KvMirrorOptions<T>) {
    this.#kv = kv;
    this.#o = opts;
    this.#first.promise.catch(() => {});
    this.#running = Promise.all([this.#run(), this.#onReconnect()]).then(() => {});
  }

  /**
   * The kept values by key, as the watch last delivered them (the live
   * copy: take what you need before the next await). The first call waits
   * for the bucket's first complete read, and rejects when that read failed
   * (NATS unreachable); the next call then waits for the next attempt.
   */
  async entries(): Promise<ReadonlyMap<string, T>> {
    if (this.#stop.signal.aborted) {
      throw new BrokerError(
        `Cannot read ${this.#o.what}: the local copy was closed (this server left the cluster)`,
      );
    }
    if (!this.#synced) await this.#first.promise;
    return this.#values;
  }

  /** Watches until closed, starting again after a failure or an end. */
  async #run(): Promise<void> {
    const signal = this.#stop.signal;
    const retryMs = this.#o.retryMs ?? 1000;
    while (!signal.aborted) {
      let failure: unknown;
      try {
        await this.#follow();
      } catch (err) {
        failure = err;
      }
      if (signal.aborted) break;
      if (this.#restart) {
        this.#restart = false;
        continue;
      }
      this.#failed(failure ?? new Error("the watch ended by itself"), retryMs);
      await delay(retryMs, { signal }).catch(() => {});
    }
  }

  /**
   * A watch failed (or ended by itself): before the first complete copy the
   * waiting {@linkcode entries} calls get the error; after it, the first
   * failure while the NATS connection is up since the copy was last current
   * is logged (the old copy is still read meanwhile).
   */
  #failed(err: unknown, retryMs: number): void {
    const why = errorText(err);
    const reason = /timeout/i.test(why) ? "no answer from the nats-server in time" : why;
    const stale = this.#stale ??= { since: Date.now(), failures: 0, reported: false };
    stale.failures++;
    if (!this.#synced) {
      stale.reported = true;
      const failed = this.#first;
      this.#first = Promise.withResolvers<void>();
      this.#first.promise.catch(() => {});
      failed.reject(
        new BrokerError(
          `Cannot read ${this.#o.what} from NATS: ${reason} (check that the cluster's nats-server runs with JetStream and is reachable; tried again every ${retryMs} ms)`,
          { cause: err },
        ),
      );
    } else if (!stale.reported && this.#connected) {
      stale.reported = true;
      this.#o.log?.warn(
        `cluster copy of ${this.#o.what} not kept current: its watch failed; the last copy is still read, watching again every ${retryMs} ms (check that the cluster's nats-server runs with JetStream and is reachable)`,
        { bucket: bucketOf(this.#kv), error: reason, retryMs },
      );
    }
  }

  /**
   * One watch: every key's last value into a new copy, which replaces the
   * current one once complete; then each change, into the current copy.
   * Complete means: the watch said so (its `initializedFn`, run in order
   * with the entries, or before `watch()` returned, when every entry it
   * had received by then is applied), or an entry arrived after which
   * JetStream has nothing pending (its `delta` is 0). Until then, `stallMs`
   * without an entry stops the watch and fails.
   */
  async #follow(): Promise<void> {
    /** The new copy; once complete, the current one (each change goes on into it). */
    const fresh = new Map<string, T>();
    /** Entries to apply before the copy is complete, once known. */
    let until = Infinity;
    let applied = 0;
    let returned = false;
    let stall: ReturnType<typeof setTimeout> | undefined;
    let stalled = false;
    /** When the read last got an entry (one timer per `stallMs`, not one per entry). */
    let lastEntry = Date.now();
    const complete = () => {
      clearTimeout(stall);
      if (this.#values === fresh) return;
      const again = this.#synced;
      this.#values = fresh;
      this.#synced = true;
      this.#first.resolve();
      const stale = this.#stale;
      if (stale) {
        this.#o.log?.[stale.reported ? "info" : "debug"](
          `cluster copy of ${this.#o.what} ${again ? "complete again" : "read in full"}`,
          {
            bucket: bucketOf(this.#kv),
            staleMs: Date.now() - stale.since,
            failedAttempts: stale.failures,
          },
        );
        this.#stale = undefined;
      }
    };
    const watch = await this.#kv.watch({
      // In order with the entries once iterated; before watch() returns, with entries still queued.
      initializedFn: () => returned ? complete() : until = -1,
    });
    returned = true;
    if (this.#stop.signal.aborted) return watch.stop();
    this.#watch = watch;
    const stallMs = this.#o.stallMs ?? READ_STALL_MS;
    const check = () => {
      const idle = Date.now() - lastEntry;
      if (idle < stallMs) stall = setTimeout(check, stallMs - idle);
      else {
        stalled = true;
        watch.stop();
      }
    };
    if (until === -1) until = watch.getReceived();
    if (applied >= until) complete();
    else stall = setTimeout(check, stallMs);
    try {
      for await (const e of watch) {
        const v = this.#o.keep(e);
        if (v === undefined) fresh.delete(e.key);
        else fresh.set(e.key, v);
        if (++applied >= until || e.delta === 0) complete();
        else if (this.#values !== fresh) lastEntry = Date.now();
      }
    } finally {
      clearTimeout(stall);
      if (this.#watch === watch) this.#watch = undefined;
    }
    if (stalled && !this.#restart && !this.#stop.signal.aborted) {
      throw new Error(
        `the read of bucket "${
          bucketOf(this.#kv)
        }" stalled: no entry for ${stallMs} ms with ${applied} read so far, before it was complete`,
      );
    }
  }

  /**
   * Follows the NATS connection: while it is lost the copy is not kept
   * current (silently: the connection's owner logs that), and after each
   * reconnect the watch starts over (the old consumer may have missed
   * changes or be gone).
   */
  async #onReconnect(): Promise<void> {
    const status = this.#o.status?.();
    if (!status) return;
    this.#status = status;
    for await (const s of status) {
      if (this.#stop.signal.aborted) break;
      if (s.type === "disconnect") {
        this.#connected = false;
        if (this.#synced) this.#stale ??= { since: Date.now(), failures: 0, reported: false };
      }
      if (s.type === "reconnect") {
        this.#connected = true;
        if (this.#watch) {
          this.#restart = true;
          this.#watch.stop();
        }
      }
    }
  }

  /** Stops the watch; resolves once it ended. Idempotent. */
  async close(): Promise<void> {
    if (!this.#stop.signal.aborted) {
      this.#stop.abort();
      this.#watch?.stop();
      stopStatus(this.#status); // ends the loop above
    }
    await this.#running;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
