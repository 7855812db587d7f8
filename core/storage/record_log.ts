import { join } from "node:path";
import { encodeRecord, parseRecords, RECORD_HEADER_BYTES } from "./record_format.ts";
import { isNoSpace, StorageFullError } from "./errors.ts";
import { SizeQueue } from "./size_queue.ts";

/** Options for {@linkcode RecordLog.open}. */
export interface RecordLogOptions {
  /** What the log holds, for errors and reports (e.g. `journal for peer "alice"`). */
  name: string;
  /** Size cap of the unconsumed records, bytes; appends past it throw. Default 1 GiB. */
  maxBytes?: number;
  /** Segment file size before rotating, bytes. Default min(64 MiB, max(64 KiB, maxBytes / 4)). */
  segmentBytes?: number;
  /**
   * `fdatasync` each group commit before resolving its appends. Default `true`.
   * `false`: each commit is written synchronously into the page cache (it survives a
   * crash of the process, not of the machine).
   */
  fsync?: boolean;
  /** Told about each damaged record skipped and each torn tail cut when opening. Default: nobody. */
  onDamage?: (damage: LogDamage) => void;
}

/** A damaged stretch found when opening a log. */
export interface LogDamage {
  /** `"corrupt"`: a damaged record between intact ones was skipped; `"torn"`: the tail was cut. */
  kind: "corrupt" | "torn";
  /** The segment file. */
  file: string;
  /** Byte offset of the damage in the file. */
  offset: number;
  /** Bytes skipped or cut. */
  bytes: number;
  /** What was wrong. */
  reason: string;
  /** Intact records kept in this segment. */
  kept: number;
}

/** A read position in a log (opaque to callers; start from {@linkcode RecordLog.start}). */
export interface LogCursor {
  readonly segment: number;
  readonly offset: number;
}

interface Segment {
  n: number;
  path: string;
  /** Bytes on disk (written, and synced when `fsync`). */
  written: number;
  /** Bytes assigned: written plus pending. */
  end: number;
  /** Offset of the first unconsumed record. */
  start: number;
  /** Unconsumed durable records. */
  count: number;
}

interface Group {
  seg: Segment;
  chunks: Uint8Array[];
  sizes: number[];
  bytes: number;
}

type Deferred = PromiseWithResolvers<void>;

function deferred(): Deferred {
  const d = Promise.withResolvers<void>();
  d.promise.catch(() => {}); // callers may ignore it: failures are also thrown to flush()
  return d;
}

const SEGMENT_RE = /^(\d{10})\.log$/;
const HEAD_FILE = "head";

/**
 * The one durable record log: an append-only queue of checksummed records
 * in numbered segment files (`DIR/0000000001.log`...), used by the broker's
 * journals and type queues and by ingest's spool.
 *
 * - Appends are group-committed: records appended while a write is in flight
 *   go out together in the next write and one `fdatasync`, off the event
 *   loop; {@linkcode RecordLog.append} resolves once its record is on disk.
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
  readonly #fsync: boolean;
  #segments: Segment[] = [];
  #nextSeg = 1;
  readonly #sizes = new SizeQueue();
  #count = 0;
  #bytes = 0;
  #pending: Group[] = [];
  #pendingCount = 0;
  #pendingBytes = 0;
  #next: Deferred | undefined;
  #current: Deferred | undefined;
  #writing: Promise<void> | undefined;
  #fd: Deno.FsFile | undefined;
  #fdSeg: Segment | undefined;
  #headDirty = false;
  #headWrite: Promise<void> | undefined;
  #closed = false;
  #closing: Promise<void> | undefined;
  /** The last write failed for lack of disk space (cleared by the next good write). */
  diskFull = false;

  private constructor(dir: string, opts: RecordLogOptions) {
    this.dir = dir;
    this.name = opts.name;
    this.#max = opts.maxBytes ?? 1024 ** 3;
    this.#segmentBytes = opts.segmentBytes ??
      Math.min(64 * 1024 ** 2, Math.max(64 * 1024, Math.floor(this.#max / 4)));
    this.#fsync = opts.fsync ?? true;
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
    const log = new RecordLog(dir, opts);
    const numbers: number[] = [];
    for (const e of Deno.readDirSync(dir)) {
      const m = e.isFile ? SEGMENT_RE.exec(e.name) : null;
      if (m) numbers.push(Number(m[1]));
    }
    numbers.sort((a, b) => a - b);
    let head: LogCursor | undefined;
    try {
      head = JSON.parse(Deno.readTextFileSync(join(dir, HEAD_FILE))) as LogCursor;
    } catch { /* no head yet: start at the beginning */ }
    for (let i = 0; i < numbers.length; i++) {
      const n = numbers[i]!;
      const path = log.#path(n);
      if (head && n < head.segment) {
        try {
          Deno.removeSync(path);
        } catch { /* gone */ }
        continue;
      }
      const bytes = Deno.readFileSync(path);
      const start = head && n === head.segment ? Math.min(head.offset, bytes.length) : 0;
      const parsed = parseRecords(bytes.subarray(start));
      const kept = parsed.records.length;
      for (const d of parsed.damaged) {
        opts.onDamage?.({ kind: "corrupt", file: path, ...d, offset: start + d.offset, kept });
      }
      const last = i === numbers.length - 1;
      let written = bytes.length;
      if (parsed.tail) {
        const t = parsed.tail;
        opts.onDamage?.({
          kind: last ? "torn" : "corrupt",
          file: path,
          offset: start + t.offset,
          bytes: t.bytes,
          reason: t.reason,
          kept,
        });
        if (last) {
          written = start + parsed.end;
          Deno.truncateSync(path, written);
        }
      }
      const seg: Segment = { n, path, written, end: written, start, count: kept };
      for (const r of parsed.records) {
        log.#sizes.push(r.span);
        log.#bytes += r.span;
      }
      log.#count += kept;
      log.#segments.push(seg);
      log.#nextSeg = n + 1;
    }
    return log;
  }

  #path(n: number): string {
    return join(this.dir, `${String(n).padStart(10, "0")}.log`);
  }

  /** Records in the log, including appends not yet on disk. */
  get count(): number {
    return this.#count + this.#pendingCount;
  }

  /** Records on disk (readable). */
  get durableCount(): number {
    return this.#count;
  }

  /** Bytes the records take, including appends not yet on disk. */
  get bytes(): number {
    return this.#bytes + this.#pendingBytes;
  }

  /** The size cap, bytes. */
  get maxBytes(): number {
    return this.#max;
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
   * Ignoring the promise is safe. `force` skips the cap (a shutdown that must
   * not drop what it holds in memory).
   */
  append(payload: Uint8Array, force = false): Promise<void> {
    if (this.#closed) throw new Error(`Cannot append to the ${this.name}: it is closed`);
    const size = RECORD_HEADER_BYTES + payload.length;
    if (!force && this.bytes + size > this.#max) {
      throw new StorageFullError(
        `The ${this.name} is full: ${this.bytes} of ${this.#max} bytes used; the record was not stored`,
        "cap",
      );
    }
    let seg = this.#segments.at(-1);
    if (!seg || (seg.end > 0 && seg.end + size > this.#segmentBytes)) {
      seg = { n: this.#nextSeg++, path: "", written: 0, end: 0, start: 0, count: 0 };
      seg.path = this.#path(seg.n);
      this.#segments.push(seg);
    }
    let g = this.#pending.at(-1);
    if (!g || g.seg !== seg) this.#pending.push(g = { seg, chunks: [], sizes: [], bytes: 0 });
    g.chunks.push(encodeRecord(payload));
    g.sizes.push(size);
    g.bytes += size;
    seg.end += size;
    this.#pendingCount++;
    this.#pendingBytes += size;
    this.#next ??= deferred();
    const p = this.#next.promise;
    this.#writing ??= this.#run();
    return p;
  }

  /** Resolves once every record appended so far is on disk; rejects when a write of them failed. */
  flush(): Promise<void> {
    return this.#next?.promise ?? this.#current?.promise ?? Promise.resolve();
  }

  async #run(): Promise<void> {
    // One turn later, so every append of this turn joins the first write.
    await Promise.resolve();
    while (this.#pending.length > 0) {
      const groups = this.#pending;
      const done = this.#current = this.#next!;
      this.#pending = [];
      this.#next = undefined;
      let error: Error | undefined;
      for (const g of groups) {
        // Until its write settles a group counts as pending, so `count` and the cap never dip.
        const settled = () => {
          this.#pendingCount -= g.sizes.length;
          this.#pendingBytes -= g.bytes;
        };
        if (error) {
          settled();
          g.seg.end -= g.bytes;
          continue;
        }
        try {
          await this.#write(g);
          settled();
          g.seg.written += g.bytes;
          g.seg.count += g.sizes.length;
          for (const s of g.sizes) this.#sizes.push(s);
          this.#count += g.sizes.length;
          this.#bytes += g.bytes;
          this.diskFull = false;
        } catch (err) {
          settled();
          g.seg.end -= g.bytes;
          await this.#fd?.truncate(g.seg.written).catch(() => {});
          this.diskFull = isNoSpace(err);
          error = this.diskFull
            ? new StorageFullError(
              `The ${this.name} cannot grow: the disk is full (writing "${g.seg.path}": ${
                (err as Error).message
              }); the record was not stored (free disk space)`,
              "disk",
              { cause: err },
            )
            : new Error(
              `Cannot write the ${this.name} "${g.seg.path}": ${(err as Error).message}`,
              { cause: err },
            );
        }
      }
      this.#current = undefined;
      if (error) done.reject(error);
      else done.resolve();
    }
    this.#writing = undefined;
  }

  async #write(g: Group): Promise<void> {
    if (this.#fd && this.#fdSeg !== g.seg) {
      this.#fd.close();
      this.#fd = undefined;
    }
    const all = g.chunks.length === 1 ? g.chunks[0]! : concat(g.chunks, g.bytes);
    let w = 0;
    if (!this.#fsync) {
      // Into the page cache only: a synchronous write costs microseconds, less than the
      // two thread hops of an async one, and leaves nothing to wait for.
      this.#fd ??= Deno.openSync(g.seg.path, { create: true, append: true, mode: 0o600 });
      this.#fdSeg = g.seg;
      while (w < all.length) w += this.#fd.writeSync(all.subarray(w));
      return;
    }
    if (!this.#fd) {
      this.#fd = await Deno.open(g.seg.path, { create: true, append: true, mode: 0o600 });
      this.#fdSeg = g.seg;
    }
    while (w < all.length) w += await this.#fd.write(all.subarray(w));
    await this.#fd.syncData();
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
  async read(
    cursor: LogCursor,
    maxBytes: number,
  ): Promise<{ records: Uint8Array[]; next: LogCursor }> {
    let { segment, offset } = cursor;
    for (const seg of this.#segments) {
      if (seg.n < segment) continue;
      if (seg.n > segment || offset < seg.start) {
        segment = seg.n;
        offset = seg.start;
      }
      if (offset >= seg.written) continue;
      let want = Math.min(maxBytes, seg.written - offset);
      while (true) {
        const bytes = await readAt(seg.path, offset, want);
        const parsed = parseRecords(bytes);
        if (parsed.records.length > 0) {
          return {
            records: parsed.records.map((r) => r.payload),
            next: { segment: seg.n, offset: offset + parsed.end },
          };
        }
        if (want >= seg.written - offset) break; // nothing intact left in this segment
        want = Math.min(seg.written - offset, want * 2);
      }
    }
    const last = this.#segments.at(-1);
    return {
      records: [],
      next: last ? { segment: last.n, offset: Math.max(offset, last.written) } : cursor,
    };
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
    this.#saveHead();
  }

  /** Drops the front segment when fully consumed and not being written; returns whether it did. */
  #dropFront(): boolean {
    const seg = this.#segments[0];
    if (!seg || seg.count > 0) return false;
    const last = this.#segments.length === 1;
    if (last && (seg.end !== seg.written || this.#writing)) return false;
    this.#segments.shift();
    if (this.#fdSeg === seg) {
      this.#fd?.close();
      this.#fd = undefined;
      this.#fdSeg = undefined;
    }
    // once a segment per segmentBytes: removed at once, so a consumed log leaves no file behind
    try {
      Deno.removeSync(seg.path);
    } catch { /* already gone */ }
    return true;
  }

  #saveHead(): void {
    this.#headDirty = true;
    this.#headWrite ??= (async () => {
      while (this.#headDirty) {
        this.#headDirty = false;
        const tmp = join(this.dir, `${HEAD_FILE}.tmp`);
        try {
          await Deno.writeTextFile(tmp, JSON.stringify(this.start), { mode: 0o600 });
          await Deno.rename(tmp, join(this.dir, HEAD_FILE));
        } catch { /* a lost head only means records are read (and deduplicated) again */ }
      }
      this.#headWrite = undefined;
    })();
  }

  /** Writes what is pending, then closes the files. Records stay for the next open. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#closed = true;
      await this.flush().catch(() => {});
      await this.#writing;
      await this.#headWrite;
      this.#fd?.close();
      this.#fd = undefined;
    })();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

function concat(chunks: Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}

async function readAt(path: string, offset: number, n: number): Promise<Uint8Array> {
  using f = await Deno.open(path, { read: true });
  await f.seek(offset, Deno.SeekMode.Start);
  const buf = new Uint8Array(n);
  let got = 0;
  while (got < n) {
    const r = await f.read(buf.subarray(got));
    if (r === null) break;
    got += r;
  }
  return buf.subarray(0, got);
}
