import { RecordLog, type RecordLogOptions } from "../storage/mod.ts";
import { routerSeq, SeqWindow } from "./_seq_window.ts";
import { MAX_ID_BYTES } from "./_id_limit.ts";

/**
 * Remembers at least the last `capacity` message ids and reports repeats, so
 * a receiver drops a message replayed after a lost acknowledgement. Ids are
 * kept in two generations of up to `capacity` each: when the current one is
 * full it becomes the previous one and the oldest generation is dropped
 * whole (no per-id deletes, which cost more than the lookups). Memory grows
 * with the ids actually seen, up to `2 * capacity`. Ids in the router's own
 * form (most of them) are kept as bits per sending process instead (see
 * `_seq_window.ts`): the last `capacity` sequence numbers of each.
 */
export class Dedupe {
  readonly capacity: number;
  #current = new Set<string>();
  #previous = new Set<string>();
  readonly #seqs: SeqWindow;

  constructor(capacity = 200_000) {
    this.capacity = capacity;
    this.#seqs = new SeqWindow(capacity);
  }

  /** Records `id`; returns `true` when it was seen before. */
  seen(id: string): boolean {
    const seq = routerSeq(id);
    if (seq >= 0) return this.#seqs.seen(id, seq);
    if (this.#current.has(id) || this.#previous.has(id)) return true;
    if (this.#current.size >= this.capacity) {
      this.#previous = this.#current;
      this.#current = new Set();
    }
    this.#current.add(id);
    return false;
  }

  /** Forgets `id` (its message was refused, so a resend must not count as a repeat). */
  forget(id: string): void {
    const seq = routerSeq(id);
    if (seq >= 0) return this.#seqs.forget(id, seq);
    this.#current.delete(id);
    this.#previous.delete(id);
  }
}

const enc = new TextEncoder();
const dec = new TextDecoder();

/**
 * The most bytes one stored id can take in the log: a relayed message's
 * key (a 128-character sender name, `\n` and the id) as a JSON string, every
 * id byte escaped (`\u0000`, 6 bytes), with its quotes and comma. The id
 * cap is checked before an id is stored (`_id_limit.ts`).
 */
const MAX_STORED_ID_BYTES = 128 + 2 + 6 * MAX_ID_BYTES + 3;

/**
 * The byte cap of the received-id log of a window of `capacity`: the log
 * holds about `capacity` ids (older records are dropped once the window
 * holds `capacity` newer ones), and never more than twice that at the
 * longest ids (older records make room for a new one first). About 667 MB
 * for the default 200,000 at the worst ids, 100 MB at 256-byte plain ones.
 */
export function seenLogBytes(capacity: number): number {
  return 2 * capacity * MAX_STORED_ID_BYTES;
}

/**
 * A {@linkcode Dedupe} window that survives restarts: the ids received from
 * one proven sender are appended to a record log (one record per batch,
 * group-committed) and loaded again on start, so a message replayed after a
 * crash of either side is delivered once. Old batches are dropped once the
 * window holds `capacity` newer ids.
 */
export class SeenIds implements AsyncDisposable {
  readonly #window: Dedupe;
  readonly #log: RecordLog;
  #batch: string[] = [];
  /** Ids in each durable record, oldest first. */
  readonly #perRecord: number[] = [];
  /** Bytes of each durable record (its JSON), oldest first. */
  readonly #recordBytes: number[] = [];
  #total = 0;

  constructor(
    dir: string,
    opts: Omit<RecordLogOptions, "name"> & { capacity?: number; peer: string },
  ) {
    const { capacity, peer, ...logOpts } = opts;
    this.#window = new Dedupe(capacity);
    this.#log = RecordLog.openSync(dir, {
      ...logOpts,
      maxBytes: seenLogBytes(this.#window.capacity),
      name: `received-id log of peer "${peer}"`,
    });
  }

  /** Loads the ids stored by earlier runs. */
  async load(): Promise<void> {
    let cursor = this.#log.start;
    while (true) {
      const { records, next } = await this.#log.read(cursor, 4 * 1024 * 1024);
      if (records.length === 0) break;
      cursor = next;
      for (const r of records) {
        const ids = JSON.parse(dec.decode(r)) as string[];
        for (const id of ids) this.#window.seen(id);
        this.#perRecord.push(ids.length);
        this.#recordBytes.push(r.length);
        this.#total += ids.length;
      }
    }
  }

  /** Records `id`; returns `true` when it was seen before (also in an earlier run). */
  seen(id: string): boolean {
    if (this.#window.seen(id)) return true;
    this.#batch.push(id);
    return false;
  }

  /** Forgets `id` (its message was refused). */
  forget(id: string): void {
    this.#window.forget(id);
    const i = this.#batch.lastIndexOf(id);
    if (i >= 0) this.#batch.splice(i, 1);
  }

  /**
   * Stores the ids seen since the last call; resolves once they are on disk.
   * `background`: nobody waits for them soon (see `RecordLog.append`).
   */
  commit(background = false): Promise<void> {
    if (this.#batch.length === 0) return this.#log.flush();
    const ids = this.#batch;
    this.#batch = [];
    const record = enc.encode(JSON.stringify(ids));
    this.#makeRoom(record.length);
    let stored: Promise<void>;
    try {
      stored = this.#log.append(record, { background });
    } catch (err) {
      return Promise.reject(err); // over the cap even alone (a batch of more than 2 × capacity ids)
    }
    return stored.then(() => {
      this.#perRecord.push(ids.length);
      this.#recordBytes.push(record.length);
      this.#total += ids.length;
      let drop = 0;
      while (
        drop < this.#perRecord.length - 1 &&
        this.#total - this.#perRecord[drop]! >= this.#window.capacity &&
        drop < this.#log.durableCount
      ) this.#total -= this.#perRecord[drop++]!;
      if (drop > 0) {
        this.#perRecord.splice(0, drop);
        this.#recordBytes.splice(0, drop);
        this.#log.consume(drop);
      }
    });
  }

  /** Drops the oldest stored records until a `bytes` record fits under the log's cap. */
  #makeRoom(bytes: number): void {
    let drop = 0;
    let freed = 0;
    const over = this.#log.bytes + bytes + 64 - this.#log.maxBytes; // 64: more than a record header
    while (freed < over && drop < this.#perRecord.length && drop < this.#log.durableCount) {
      freed += this.#recordBytes[drop]!;
      this.#total -= this.#perRecord[drop++]!;
    }
    if (drop === 0) return;
    this.#perRecord.splice(0, drop);
    this.#recordBytes.splice(0, drop);
    this.#log.consume(drop);
  }

  /** Stores what is pending and closes the log. Idempotent. */
  async close(): Promise<void> {
    await this.commit().catch(() => {});
    await this.#log.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
