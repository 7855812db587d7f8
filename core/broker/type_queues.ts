import { Journal, type JournalOptions } from "./journal.ts";

/**
 * Per-message-type receive queues on disk: a message whose type has no
 * listener is appended to `DIR/TYPE.queue` and handed out, in order, when a
 * listener attaches.
 */
export class TypeQueues {
  readonly #dir: string;
  readonly #opts: Omit<JournalOptions, "name">;
  readonly #queues = new Map<string, Journal>();

  constructor(dir: string, opts: Omit<JournalOptions, "name">) {
    this.#dir = dir;
    this.#opts = opts;
    try {
      for (const e of Deno.readDirSync(dir)) {
        if (e.isFile && e.name.endsWith(".queue")) {
          this.#get(decodeURIComponent(e.name.slice(0, -".queue".length)));
        }
      }
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
  }

  #get(type: string): Journal {
    let q = this.#queues.get(type);
    if (!q) {
      q = Journal.open(`${this.#dir}/${encodeURIComponent(type)}.queue`, {
        ...this.#opts,
        name: `queue ${type}`,
      });
      this.#queues.set(type, q);
    }
    return q;
  }

  /** Appends a raw frame payload to the queue of `type` (throws `JournalFullError` when full). */
  push(type: string, payload: Uint8Array): void {
    this.#get(type).append(payload.slice());
  }

  /** Takes every queued payload of `type`, in order, and empties the queue. */
  take(type: string): Uint8Array[] {
    const q = this.#queues.get(type);
    if (!q || q.count === 0) return [];
    const all = q.readAll();
    q.clear();
    return all;
  }

  /** Resolves once every queue's appends are on disk. */
  async flush(): Promise<void> {
    await Promise.all([...this.#queues.values()].map((q) => q.flush()));
  }

  /** Sizes per type (messages and bytes). */
  sizes(): Array<{ type: string; messages: number; bytes: number }> {
    return [...this.#queues].map(([type, q]) => ({ type, messages: q.count, bytes: q.size }));
  }

  /** Flushes and closes every queue file. */
  close(): void {
    for (const q of this.#queues.values()) q.close();
  }
}
