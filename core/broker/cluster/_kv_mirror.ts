import type { KV, KvEntry, QueuedIterator, Status } from "nats";
import { delay } from "../../async/mod.ts";
import { BrokerError } from "../errors.ts";

/** Options for {@linkcode KvMirror}. */
export interface KvMirrorOptions<T> {
  /** What the bucket holds, for error messages (`"the names held in the cluster"`). */
  what: string;
  /**
   * What to keep for an entry of the bucket, or `undefined` to keep nothing
   * for its key (a delete, a purge, or a value nobody asks for): what is
   * not kept costs no memory and no time in {@linkcode KvMirror.entries}.
   */
  keep(entry: KvEntry): T | undefined;
  /**
   * The status events of the bucket's NATS connection (`nc.status`): after
   * each reconnect the watch starts over and the copy is read afresh.
   * Default: none (the watch starts over only when it ends by itself).
   */
  status?: () => AsyncIterable<Status>;
  /** How long to wait before watching again after a watch failed or ended, ms. Default 1000. */
  retryMs?: number;
}

/**
 * A local copy of a JetStream KV bucket's current values, kept by a watch
 * (`kv.watch()`: every key's last value first, then each change as it is
 * stored), so reading it costs no NATS round trip. A watch that fails or
 * ends (NATS gone for long, the consumer lost) is started again after
 * `retryMs`, and after each reconnect of the NATS connection; a restarted
 * watch reads every key again into a new copy, which replaces the old one
 * once complete (until then the old copy is read). The copy lags the
 * bucket by the watch's delivery (milliseconds while NATS is up).
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
    while (!signal.aborted) {
      try {
        await this.#follow();
      } catch (err) {
        if (!this.#synced) {
          const failed = this.#first;
          this.#first = Promise.withResolvers<void>();
          this.#first.promise.catch(() => {});
          const why = err instanceof Error ? err.message : String(err);
          failed.reject(
            new BrokerError(
              `Cannot read ${this.#o.what} from NATS: ${
                /timeout/i.test(why) ? "no answer from the nats-server in time" : why
              } (check that the cluster's nats-server runs with JetStream and is reachable; tried again every ${
                this.#o.retryMs ?? 1000
              } ms)`,
              { cause: err },
            ),
          );
        }
      }
      if (signal.aborted) break;
      if (this.#restart) {
        this.#restart = false;
        continue;
      }
      await delay(this.#o.retryMs ?? 1000, { signal }).catch(() => {});
    }
  }

  /**
   * One watch: every key's last value into a new copy, which replaces the
   * current one once complete; then each change, into the current copy.
   * Complete means: the watch said so (its `initializedFn`, run in order
   * with the entries, or before `watch()` returned, when every entry it
   * had received by then is applied), or an entry arrived after which
   * JetStream has nothing pending (its `delta` is 0).
   */
  async #follow(): Promise<void> {
    /** The new copy; once complete, the current one (each change goes on into it). */
    const fresh = new Map<string, T>();
    /** Entries to apply before the copy is complete, once known. */
    let until = Infinity;
    let applied = 0;
    let returned = false;
    const complete = () => {
      if (this.#values === fresh) return;
      this.#values = fresh;
      this.#synced = true;
      this.#first.resolve();
    };
    const watch = await this.#kv.watch({
      // In order with the entries once iterated; before watch() returns, with entries still queued.
      initializedFn: () => returned ? complete() : until = -1,
    });
    returned = true;
    if (this.#stop.signal.aborted) return watch.stop();
    this.#watch = watch;
    if (until === -1) until = watch.getReceived();
    if (applied >= until) complete();
    try {
      for await (const e of watch) {
        const v = this.#o.keep(e);
        if (v === undefined) fresh.delete(e.key);
        else fresh.set(e.key, v);
        if (++applied >= until || e.delta === 0) complete();
      }
    } finally {
      if (this.#watch === watch) this.#watch = undefined;
    }
  }

  /** Starts the watch over after each reconnect (the old consumer may have missed changes or be gone). */
  async #onReconnect(): Promise<void> {
    const status = this.#o.status?.();
    if (!status) return;
    this.#status = status;
    for await (const s of status) {
      if (this.#stop.signal.aborted) break;
      if (s.type === "reconnect" && this.#watch) {
        this.#restart = true;
        this.#watch.stop();
      }
    }
  }

  /** Stops the watch; resolves once it ended. Idempotent. */
  async close(): Promise<void> {
    if (!this.#stop.signal.aborted) {
      this.#stop.abort();
      this.#watch?.stop();
      // nc.status() is a QueuedIterator: stopping it ends the loop above.
      (this.#status as { stop?: () => void } | undefined)?.stop?.();
    }
    await this.#running;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
