import { setImmediate } from "node:timers";
import { dirname } from "node:path";
import { crc32 } from "../checksum/mod.ts";
import { JournalFullError } from "./errors.ts";

/** Bytes before each record's payload: u32 BE payload length, u32 BE CRC-32 of the payload. */
export const RECORD_HEADER_BYTES = 8;

/** Options for {@linkcode Journal.open}. */
export interface JournalOptions {
  /** Name used in errors (the peer or the message type). */
  name: string;
  /** Size cap of the file in bytes; appends beyond it throw `JournalFullError`. Default 1 GiB. */
  maxBytes?: number;
  /** `fdatasync` after each batch of appends. Default `true`. */
  fsync?: boolean;
  /** Called once when opening finds a corrupt or truncated tail (it is cut off). */
  onCorruptTail?: (info: CorruptTail) => void;
}

/** A corrupt or truncated tail found when opening a journal. */
export interface CorruptTail {
  /** The journal file. */
  path: string;
  /** Byte offset where the bad record starts (the file is cut there). */
  offset: number;
  /** Good records kept before it. */
  kept: number;
  /** What was wrong. */
  reason: string;
}

/** Parses journal bytes into records, stopping at the first bad one. */
export function parseRecords(
  bytes: Uint8Array,
): { records: Uint8Array[]; end: number; error?: string } {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const records: Uint8Array[] = [];
  let i = 0;
  while (i < bytes.length) {
    if (bytes.length - i < RECORD_HEADER_BYTES) {
      return { records, end: i, error: `truncated record header (${bytes.length - i} bytes)` };
    }
    const len = v.getUint32(i);
    const sum = v.getUint32(i + 4);
    if (bytes.length - i - RECORD_HEADER_BYTES < len) {
      return {
        records,
        end: i,
        error: `truncated record: ${len} bytes declared, ${
          bytes.length - i - RECORD_HEADER_BYTES
        } present`,
      };
    }
    const payload = bytes.subarray(i + RECORD_HEADER_BYTES, i + RECORD_HEADER_BYTES + len);
    if (crc32(payload) !== sum) return { records, end: i, error: "checksum mismatch" };
    records.push(payload);
    i += RECORD_HEADER_BYTES + len;
  }
  return { records, end: i };
}

/**
 * An append-only file of checksummed records (`u32 length | u32 CRC-32 |
 * payload`), used for each peer's outbound journal and each message type's
 * receive queue. Appends are batched: one write (and one `fdatasync`) per
 * event-loop turn, or on {@linkcode Journal.flush}. A corrupt or truncated
 * tail found on open is reported and cut off; the records before it stay.
 */
export class Journal {
  readonly path: string;
  readonly #opts: JournalOptions;
  readonly #max: number;
  #file: Deno.FsFile | undefined;
  #size = 0;
  #count = 0;
  #pending: Uint8Array[] = [];
  #pendingBytes = 0;
  #scheduled = false;
  #waiters: Array<(err?: Error) => void> = [];

  private constructor(path: string, opts: JournalOptions) {
    this.path = path;
    this.#opts = opts;
    this.#max = opts.maxBytes ?? 1024 ** 3;
  }

  /** Opens (creating if needed) a journal file, checking every record. */
  static open(path: string, opts: JournalOptions): Journal {
    const j = new Journal(path, opts);
    Deno.mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    let bytes: Uint8Array;
    try {
      bytes = Deno.readFileSync(path);
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
      bytes = new Uint8Array(0);
    }
    const parsed = parseRecords(bytes);
    j.#count = parsed.records.length;
    j.#size = parsed.end;
    j.#file = Deno.openSync(path, { create: true, read: true, write: true, mode: 0o600 });
    if (parsed.error !== undefined) {
      j.#file.truncateSync(parsed.end);
      opts.onCorruptTail?.({
        path,
        offset: parsed.end,
        kept: parsed.records.length,
        reason: parsed.error,
      });
    }
    j.#file.seekSync(j.#size, Deno.SeekMode.Start);
    return j;
  }

  /** Bytes in the file (including appends not yet flushed). */
  get size(): number {
    return this.#size + this.#pendingBytes;
  }

  /** Records in the file (including appends not yet flushed). */
  get count(): number {
    return this.#count + this.#pending.length;
  }

  /** The size cap, bytes. */
  get maxBytes(): number {
    return this.#max;
  }

  /** Whether appending a payload of `n` bytes would exceed the cap. */
  wouldOverflow(n: number): boolean {
    return this.size + RECORD_HEADER_BYTES + n > this.#max;
  }

  /**
   * Queues one record; it reaches the file this turn (or on `flush()`).
   * Throws `JournalFullError` when the cap would be exceeded.
   */
  append(payload: Uint8Array): void {
    if (this.wouldOverflow(payload.length)) throw new JournalFullError(this.#opts.name, this.#max);
    const rec = new Uint8Array(RECORD_HEADER_BYTES + payload.length);
    const v = new DataView(rec.buffer);
    v.setUint32(0, payload.length);
    v.setUint32(4, crc32(payload));
    rec.set(payload, RECORD_HEADER_BYTES);
    this.#pending.push(rec);
    this.#pendingBytes += rec.length;
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => this.#flushNow());
    }
  }

  /** Resolves once every queued record is written (and synced). */
  flush(): Promise<void> {
    if (this.#pending.length === 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.#waiters.push((err) => err ? reject(err) : resolve());
    });
  }

  /** Writes queued records now, synchronously. */
  flushSync(): void {
    this.#flushNow();
  }

  #flushNow(): void {
    this.#scheduled = false;
    const waiters = this.#waiters;
    this.#waiters = [];
    let error: Error | undefined;
    if (this.#pending.length > 0 && this.#file) {
      const all = new Uint8Array(this.#pendingBytes);
      let o = 0;
      for (const r of this.#pending) {
        all.set(r, o);
        o += r.length;
      }
      try {
        let w = 0;
        while (w < all.length) w += this.#file.writeSync(all.subarray(w));
        if (this.#opts.fsync ?? true) this.#file.syncDataSync();
        this.#size += all.length;
        this.#count += this.#pending.length;
      } catch (err) {
        error = new Error(`Cannot write journal "${this.path}": ${(err as Error).message}`, {
          cause: err,
        });
      }
      this.#pending = [];
      this.#pendingBytes = 0;
    }
    for (const w of waiters) w(error);
  }

  /** Reads every record in order (flushing queued ones first). */
  readAll(): Uint8Array[] {
    this.#flushNow();
    if (this.#size === 0) return [];
    const bytes = Deno.readFileSync(this.path);
    return parseRecords(bytes.subarray(0, this.#size)).records;
  }

  /**
   * Reads whole records starting at byte `offset`, about `maxBytes` of them
   * (at least one when any is left). Returns them and the offset after them.
   */
  readRange(offset: number, maxBytes: number): { records: Uint8Array[]; next: number } {
    this.#flushNow();
    if (!this.#file || offset >= this.#size) return { records: [], next: offset };
    const readAt = (at: number, n: number): Uint8Array => {
      const buf = new Uint8Array(n);
      this.#file!.seekSync(at, Deno.SeekMode.Start);
      let got = 0;
      while (got < n) {
        const r = this.#file!.readSync(buf.subarray(got));
        if (r === null) break;
        got += r;
      }
      this.#file!.seekSync(this.#size, Deno.SeekMode.Start);
      return buf.subarray(0, got);
    };
    let bytes = readAt(offset, Math.min(maxBytes, this.#size - offset));
    let parsed = parseRecords(bytes);
    if (parsed.records.length === 0 && bytes.length >= RECORD_HEADER_BYTES) {
      const len = new DataView(bytes.buffer, bytes.byteOffset).getUint32(0);
      bytes = readAt(offset, Math.min(RECORD_HEADER_BYTES + len, this.#size - offset));
      parsed = parseRecords(bytes);
    }
    return { records: parsed.records.map((r) => r.slice()), next: offset + parsed.end };
  }

  /** Empties the journal (after everything in it was delivered). */
  clear(): void {
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#file?.truncateSync(0);
    this.#file?.seekSync(0, Deno.SeekMode.Start);
    if (this.#opts.fsync ?? true) this.#file?.syncDataSync();
    this.#size = 0;
    this.#count = 0;
  }

  /**
   * Replaces the contents with `payloads` atomically (a temporary file
   * renamed over the journal); the cap is not enforced: these were accepted before.
   */
  rewrite(payloads: Uint8Array[]): void {
    this.#pending = [];
    this.#pendingBytes = 0;
    let total = 0;
    for (const p of payloads) total += RECORD_HEADER_BYTES + p.length;
    const all = new Uint8Array(total);
    const v = new DataView(all.buffer);
    let o = 0;
    for (const p of payloads) {
      v.setUint32(o, p.length);
      v.setUint32(o + 4, crc32(p));
      all.set(p, o + RECORD_HEADER_BYTES);
      o += RECORD_HEADER_BYTES + p.length;
    }
    const tmp = `${this.path}.tmp`;
    const f = Deno.openSync(tmp, { create: true, write: true, truncate: true, mode: 0o600 });
    try {
      let w = 0;
      while (w < all.length) w += f.writeSync(all.subarray(w));
      if (this.#opts.fsync ?? true) f.syncDataSync();
    } finally {
      f.close();
    }
    Deno.renameSync(tmp, this.path);
    this.#file?.close();
    this.#file = Deno.openSync(this.path, { read: true, write: true });
    this.#file.seekSync(all.length, Deno.SeekMode.Start);
    this.#size = all.length;
    this.#count = payloads.length;
  }

  /** Flushes and closes the file. Idempotent. */
  close(): void {
    if (!this.#file) return;
    this.#flushNow();
    this.#file.close();
    this.#file = undefined;
  }
}
