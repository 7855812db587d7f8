/**
 * Group commit for a record log: records appended while a write is in flight
 * go out together in the next write and one `fdatasync` (a group of up to
 * 64 KiB is written into the page cache synchronously first; where the sync
 * runs is `_fsync_gate.ts`'s choice).
 *
 * With fsync on, the open segment file is kept zero-filled ahead of the
 * writes (as far as the segment file already reaches, from 4 KiB up to
 * {@linkcode _GroupCommitOptions.preallocate}: a log written little holds
 * a few KiB of zeros, a busy one at most `preallocate`), so a
 * commit overwrites bytes the file already has: its `fdatasync` then flushes
 * the data alone, where an append also has to commit the file's new size to
 * the filesystem's journal (on this project's ext4 build machine a 120-byte
 * write and `fdatasync` took 130–140 µs into zeroed space against 200–220 µs
 * appended). PostgreSQL zero-fills its WAL segments for the same reason. The
 * zeros past the last record are cut when the file is closed or left for the
 * next segment, and recovery (`_recover.ts`) takes a zero tail as the end.
 */
import { encodeRecord } from "./record_format.ts";
import { isNoSpace, StorageFullError } from "./errors.ts";
import type { _Segment } from "./_segment.ts";
import { fsyncGate } from "./_fsync_gate.ts";

/** Records bound for one segment in one commit. */
export interface _Group {
  seg: _Segment;
  chunks: Uint8Array[];
  /** The size of each record, in order. */
  sizes: number[];
  bytes: number;
  /** Every record of the group was appended as `background`: it syncs off the loop (`_fsync_gate.ts`). */
  background: boolean;
}

/** Options for {@linkcode _GroupCommit}. */
export interface _GroupCommitOptions {
  /** What the log holds, for errors. */
  name: string;
  /** `fdatasync` each commit (otherwise a synchronous write into the page cache). */
  fsync: boolean;
  /**
   * With `fsync`: zero-fill the open segment file up to this many bytes
   * ahead of the writes, and no further than the file already reaches (4 KiB
   * at least; see the module doc). 0: append as without fsync.
   */
  preallocate: number;
  /** Told about each group once it is on disk, before its appends resolve. */
  committed: (group: _Group) => void;
}

type Deferred = PromiseWithResolvers<void>;

function deferred(): Deferred {
  const d = Promise.withResolvers<void>();
  d.promise.catch(() => {}); // callers may ignore it: failures are also thrown to flush()
  return d;
}

/** The writer of a record log: pending records, the commit loop and the open segment file. */
export class _GroupCommit {
  readonly #opts: _GroupCommitOptions;
  #pending: _Group[] = [];
  #next: Deferred | undefined;
  #current: Deferred | undefined;
  #writing: Promise<void> | undefined;
  #fd: Deno.FsFile | undefined;
  #fdSeg: _Segment | undefined;
  /** The size of the open file: past `#fdSeg.written` it holds zeros. */
  #fdSize = 0;
  /** A zero fill of the open file failed (the disk is full): append to it from then on. */
  #fillFailed = false;
  /** Records appended and not yet settled (written or failed). */
  count = 0;
  /** Bytes of those records. */
  bytes = 0;
  /** The last write failed for lack of disk space (cleared by the next good write). */
  diskFull = false;

  constructor(opts: _GroupCommitOptions) {
    this.#opts = opts;
  }

  /** Whether a commit is under way. */
  get busy(): boolean {
    return this.#writing !== undefined;
  }

  /**
   * Queues `payload` (a record of `size` bytes) at the end of `seg`; resolves
   * once it is on disk, rejects when its write failed. `background`: nobody
   * waits for it soon; a group of such records syncs off the event loop.
   */
  add(seg: _Segment, payload: Uint8Array, size: number, background = false): Promise<void> {
    let g = this.#pending.at(-1);
    if (!g || g.seg !== seg) {
      this.#pending.push(g = { seg, chunks: [], sizes: [], bytes: 0, background: true });
    }
    if (!background) g.background = false;
    g.chunks.push(encodeRecord(payload));
    g.sizes.push(size);
    g.bytes += size;
    seg.end += size;
    this.count++;
    this.bytes += size;
    this.#next ??= deferred();
    const p = this.#next.promise;
    this.#writing ??= this.#run();
    return p;
  }

  /** Resolves once every record added so far is on disk; rejects when a write of them failed. */
  flush(): Promise<void> {
    return this.#next?.promise ?? this.#current?.promise ?? Promise.resolve();
  }

  /** Closes the file of `seg` if it is the open one (the segment is being deleted). */
  release(seg: _Segment): void {
    if (this.#fdSeg !== seg) return;
    this.#fd?.close();
    this.#fd = undefined;
    this.#fdSeg = undefined;
  }

  /** Closes the open file, first cutting the zeros past its last record. */
  #closeFile(): void {
    const fd = this.#fd;
    const seg = this.#fdSeg;
    this.#fd = undefined;
    this.#fdSeg = undefined;
    if (!fd) return;
    try {
      if (seg && this.#fdSize > seg.written) fd.truncateSync(seg.written);
    } catch { /* recovery takes the zero tail as the end */ }
    fd.close();
  }

  /** Writes what is pending, then closes the file. */
  async close(): Promise<void> {
    await this.flush().catch(() => {});
    await this.#writing;
    this.#closeFile();
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
          this.count -= g.sizes.length;
          this.bytes -= g.bytes;
        };
        if (error) {
          settled();
          g.seg.end -= g.bytes;
          continue;
        }
        try {
          await this.#write(g);
          settled();
          this.#opts.committed(g);
          this.diskFull = false;
        } catch (err) {
          settled();
          g.seg.end -= g.bytes;
          if (this.#fd) this.#discardFrom(this.#fd, g.seg.written);
          this.diskFull = isNoSpace(err);
          error = this.#failure(g, err);
        }
      }
      this.#current = undefined;
      if (error) done.reject(error);
      else done.resolve();
    }
    this.#writing = undefined;
  }

  #failure(g: _Group, err: unknown): Error {
    const name = this.#opts.name;
    const why = (err as Error).message;
    return this.diskFull
      ? new StorageFullError(
        `The ${name} cannot grow: the disk is full (writing "${g.seg.path}": ${why}); the record was not stored (free disk space)`,
        "disk",
        { cause: err },
      )
      : new Error(`Cannot write the ${name} "${g.seg.path}": ${why}`, { cause: err });
  }

  async #write(g: _Group): Promise<void> {
    if (this.#fd && this.#fdSeg !== g.seg) this.#closeFile();
    const all = g.chunks.length === 1 ? g.chunks[0]! : concat(g.chunks, g.bytes);
    const fsync = this.#opts.fsync;
    if (!this.#fd) {
      const how = { create: true, write: true, mode: 0o600 };
      // Without fsync the whole commit stays synchronous.
      this.#fd = fsync ? await Deno.open(g.seg.path, how) : Deno.openSync(g.seg.path, how);
      this.#fdSeg = g.seg;
      this.#fdSize = this.#fd.statSync().size;
      this.#fillFailed = false;
    }
    const fd = this.#fd;
    const at = g.seg.written;
    if (
      fsync && !this.#fillFailed && this.#opts.preallocate > 0 && at + all.length > this.#fdSize
    ) {
      // As far ahead as the segment already holds (4 KiB at least, `preallocate` at most):
      // a log written little holds little more than its records.
      const ahead = Math.min(this.#opts.preallocate, Math.max(FILL_MIN, at + all.length));
      this.#zeroFill(fd, at + all.length + ahead);
    }
    fd.seekSync(at, Deno.SeekMode.Start);
    let w = 0;
    if (!fsync || all.length <= SYNC_WRITE_MAX) {
      // Into the page cache synchronously: microseconds, less than the thread hops of an
      // async write. Without fsync nothing is left to wait for; with it, one hop fewer
      // before the sync.
      while (w < all.length) w += fd.writeSync(all.subarray(w));
    } else {
      while (w < all.length) w += await fd.write(all.subarray(w));
    }
    this.#fdSize = Math.max(this.#fdSize, at + all.length);
    if (fsync) await fsyncGate.sync(fd, g.background);
  }

  /**
   * Removes what a failed write may have left past `at` (its record is not
   * in the log and must not come back at the next open): cut, or, when the
   * cut fails too, overwritten with zeros, which take no new disk space and
   * which recovery takes as the end.
   */
  #discardFrom(fd: Deno.FsFile, at: number): void {
    try {
      fd.truncateSync(at);
      this.#fdSize = at;
      return;
    } catch { /* zeroed below */ }
    try {
      const size = fd.statSync().size;
      fd.seekSync(at, Deno.SeekMode.Start);
      for (let w = at; w < size;) {
        w += fd.writeSync(ZEROS.subarray(0, Math.min(ZEROS.length, size - w)));
      }
      this.#fdSize = size;
    } catch { /* the file is unwritable: the next write to it fails and is reported */ }
  }

  /**
   * Grows the open file with zeros to `size` bytes (into the page cache; the
   * next `fdatasync` writes them). A failure (the disk is full) leaves the
   * file as it was, and its commits append from then on (each reports its
   * own failure).
   */
  #zeroFill(fd: Deno.FsFile, size: number): void {
    const from = this.#fdSize;
    try {
      fd.seekSync(from, Deno.SeekMode.Start);
      for (let at = from; at < size;) {
        at += fd.writeSync(ZEROS.subarray(0, Math.min(ZEROS.length, size - at)));
      }
      this.#fdSize = size;
    } catch {
      this.#fillFailed = true;
      try {
        fd.truncateSync(from);
      } catch { /* the commit's own write reports the trouble */ }
    }
  }
}

/** The smallest zero fill ahead of the writes. */
const FILL_MIN = 4096;

/** A block of zeros for {@linkcode _GroupCommit}'s zero fill. */
const ZEROS = new Uint8Array(64 * 1024);

/** With fsync on, groups up to this size are written synchronously before their `fdatasync`. */
const SYNC_WRITE_MAX = 64 * 1024;

function concat(chunks: Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}
