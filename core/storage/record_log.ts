import { RECORD_HEADER_BYTES } from "./record_format.ts";
import { StorageFullError } from "./errors.ts";
import type { SizeQueue } from "./size_queue.ts";
import type { LogCursor, RecordLogOptions } from "./record_log_options.ts";
import { _newSegment, type _Segment } from "./_segment.ts";
import { _recover } from "./_recover.ts";
import { type _Group, _GroupCommit } from "./_group_commit.ts";
import { _readRecords } from "./_read_records.ts";
import { _HeadFile } from "./_head_file.ts";

/** How far ahead of the writes a segment file is zero-filled with fsync on (`_group_commit.ts`). */
const PREALLOCATE_BYTES = 1024 * 1024;

/** How {@linkcode RecordLog.append} stores a record. */
export interface AppendOptions {
  /** Skip the byte cap (a shutdown that must not drop what it holds in memory). */
  force?: boolean;
  /**
   * Nobody waits for this record soon (a held-back acknowledgement's ids):
   * with fsync on, its `fdatasync` runs off the event loop, so a round trip
   * in flight on the same thread is not stalled by the disk.
   */
  background?: boolean;
}

/**
 * The one durable record log: an append-only queue of checksummed records
 * in numbered segment files (`DIR/0000000001.log`...), used by the broker's
 * journals and type queues and by ingest's spool.
 *
 * - Appends are group-committed: records appended while a write is in flight
 *   go out together in the next write and one `fdatasync` (on the event
 *   loop only when it is fast and alone: `_fsync_gate.ts`);
 *   {@linkcode RecordLog.append} resolves once its record is on disk.
 * - Records carry a sync marker and a checksum; a damaged record found on
 *   open costs only itself, and a torn tail is cut (both reported).
 * - The size cap refuses ({@linkcode StorageFullError}, `reason: "cap"`), it
 *   never drops; a full disk (`ENOSPC`) refuses the same way
 *   (`reason: "disk"`) and the next append tries again.
 * - Records leave from the front with {@linkcode RecordLog.consume}; fully
 *   consumed segments are deleted and the read position is kept in `DIR/head`.
 *
 * @example
 * ```ts
 * await using log = await RecordLog.open("state/q", { name: "queue" });
 * await log.append(new TextEncoder().encode("hello"));
 * const { records } = await log.read(log.start, 1 << 20);
 * await log.consume(records.length);
 * ```
 */
export class RecordLog implements AsyncDisposable {
  readonly dir: string;
  readonly name: string;
  readonly #max: number;
  readonly #segmentBytes: number;
  // the durable records: those on disk and not consumed
  readonly #segments: _Segment[];
  #nextSeg: number;
  readonly #sizes: SizeQueue;
  #count: number;
  #bytes: number;
  readonly #commit: _GroupCommit;
  readonly #head: _HeadFile;
  #closed = false;
  #closing: Promise<void> | undefined;

  private constructor(dir: string, opts: RecordLogOptions) {
    this.dir = dir;
    this.name = opts.name;
    this.#max = opts.maxBytes ?? 1024 ** 3;
    this.#segmentBytes = opts.segmentBytes ??
      Math.min(64 * 1024 ** 2, Math.max(64 * 1024, Math.floor(this.#max / 4)));
    const found = _recover(dir, opts);
    this.#segments = found.segments;
    this.#nextSeg = found.nextSeg;
    this.#sizes = found.sizes;
    this.#count = found.count;
    this.#bytes = found.bytes;
    this.#commit = new _GroupCommit({
      name: opts.name,
      fsync: opts.fsync ?? true,
      preallocate: Math.min(PREALLOCATE_BYTES, this.#segmentBytes),
      committed: (g) => this.#committed(g),
    });
    this.#head = new _HeadFile(dir, () => this.start);
  }

  /** Opens (creating it if needed) the log in `dir`, checking every record on disk. */
  static open(dir: string, opts: RecordLogOptions): Promise<RecordLog> {
    try {
      return Promise.resolve(RecordLog.openSync(dir, opts));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * Like {@linkcode RecordLog.open}, synchronously: for start-up and for a
   * peer's first contact, where the directory is usually empty.
   */
  static openSync(dir: string, opts: RecordLogOptions): RecordLog {
    try {
      Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
    } catch (err) {
      throw new Error(
        `Cannot create the directory "${dir}" of the ${opts.name}: ${(err as Error).message}`,
        { cause: err },
      );
    }
    return new RecordLog(dir, opts);
  }

  /** Records in the log, including appends not yet on disk. */
  get count(): number {
    return this.#count + this.#commit.count;
  }

  /** Records on disk (readable). */
  get durableCount(): number {
    return this.#count;
  }

  /** Bytes the records take, including appends not yet on disk. */
  get bytes(): number {
    return this.#bytes + this.#commit.bytes;
  }

  /** The size cap, bytes. */
  get maxBytes(): number {
    return this.#max;
  }

  /** The last write failed for lack of disk space (cleared by the next good write). */
  get diskFull(): boolean {
    return this.#commit.diskFull;
  }

  /** Whether an append of a `payloadBytes` record would pass the cap. */
  wouldOverflow(payloadBytes: number): boolean {
    return this.bytes + RECORD_HEADER_BYTES + payloadBytes > this.#max;
  }

  /**
   * Appends one record. Throws {@linkcode StorageFullError} at once when the
   * cap would be passed; otherwise the returned promise resolves once the
   * record is on disk (rejects, `StorageFullError` with `reason: "disk"` on
   * `ENOSPC`, when the write fails: then the record is not in the log).
   * Ignoring the promise is safe. {@linkcode AppendOptions}: `force` skips
   * the cap, `background` keeps its `fdatasync` off the event loop.
   */
  append(payload: Uint8Array, opts: AppendOptions = {}): Promise<void> {
    if (this.#closed) throw new Error(`Cannot append to the ${this.name}: it is closed`);
    const size = RECORD_HEADER_BYTES + payload.length;
    if (!opts.force && this.bytes + size > this.#max) {
      throw new StorageFullError(
        `The ${this.name} is full: ${this.bytes} of ${this.#max} bytes used; the record was not stored`,
        "cap",
      );
    }
    let seg = this.#segments.at(-1);
    if (!seg || (seg.end > 0 && seg.end + size > this.#segmentBytes)) {
      seg = _newSegment(this.dir, this.#nextSeg++);
      this.#segments.push(seg);
    }
    return this.#commit.add(seg, payload, size, opts.background);
  }

  /** Resolves once every record appended so far is on disk; rejects when a write of them failed. */
  flush(): Promise<void> {
    return this.#commit.flush();
  }

  #committed(g: _Group): void {
    g.seg.written += g.bytes;
    g.seg.count += g.sizes.length;
    for (const s of g.sizes) this.#sizes.push(s);
    this.#count += g.sizes.length;
    this.#bytes += g.bytes;
  }

  /** Position of the first record not consumed. */
  get start(): LogCursor {
    const s = this.#segments[0];
    return s ? { segment: s.n, offset: s.start } : { segment: this.#nextSeg, offset: 0 };
  }

  /**
   * Reads records on disk from `cursor`, about `maxBytes` of them (at least
   * one when any is left), and the cursor after them. A cursor behind the
   * consumed front reads from the front.
   */
  read(cursor: LogCursor, maxBytes: number): Promise<{ records: Uint8Array[]; next: LogCursor }> {
    return _readRecords(this.#segments, cursor, maxBytes);
  }

  /** Drops the first `n` records on disk (delivered, stored elsewhere, acknowledged). */
  consume(n: number): void {
    if (n > this.#count) {
      throw new RangeError(
        `Cannot consume ${n} records from the ${this.name}: ${this.#count} on disk`,
      );
    }
    while (n > 0) {
      const seg = this.#segments[0]!;
      const take = Math.min(n, seg.count);
      for (let i = 0; i < take; i++) {
        const s = this.#sizes.shift()!;
        seg.start += s;
        this.#bytes -= s;
      }
      seg.count -= take;
      this.#count -= take;
      n -= take;
      if (seg.count === 0) this.#dropFront();
    }
    while (this.#segments[0]?.count === 0 && this.#dropFront()) { /* empty segments */ }
    this.#head.save();
  }

  /** Drops the front segment when fully consumed and not being written; returns whether it did. */
  #dropFront(): boolean {
    const seg = this.#segments[0];
    if (!seg || seg.count > 0) return false;
    // Not while an append to it is being written (any segment: appends can start the next
    // segment before this one's last write is done), nor the last one while a commit runs.
    if (seg.end !== seg.written) return false;
    if (this.#segments.length === 1 && this.#commit.busy) return false;
    this.#segments.shift();
    this.#commit.release(seg);
    // once a segment per segmentBytes: removed at once, so a consumed log leaves no file behind
    try {
      Deno.removeSync(seg.path);
    } catch { /* already gone */ }
    return true;
  }

  /** Writes what is pending, then closes the files. Records stay for the next open. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#closed = true;
      await this.#commit.close();
      await this.#head.settled();
    })();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
