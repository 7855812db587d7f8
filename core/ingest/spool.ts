import { join } from "node:path";
import type { Logger } from "../log/mod.ts";
import { nullLogger } from "../log/mod.ts";
import { crc32 } from "../checksum/mod.ts";
import type { StoreBatch } from "./store.ts";

/** One spooled batch: a `StoreBatch` as written to disk. */
export type SpoolRecord = StoreBatch;

/** Options for {@linkcode Spool.open}. */
export interface SpoolOptions {
  /** Upper bound of the spool's size on disk, bytes. Default 1 GiB. */
  maxBytes?: number;
  /** Segment file size before rotating, bytes. Default min(64 MiB, maxBytes / 4). */
  segmentBytes?: number;
  /** `fdatasync` after each append (durable before acknowledging). Default `true`. */
  sync?: boolean;
  /** Logs corrupt records. Default: silent. */
  logger?: Logger;
}

/** The spool has no room for a record; the caller keeps it and stops reading input. */
export class SpoolFullError extends Error {
  override name = "SpoolFullError";
}

const HEADER = 8; // u32 payload length, u32 CRC-32 of the payload
const SEGMENT = /^(\d{10})\.spool$/;

/**
 * An append-only disk spool of batches, kept while Redis is unreachable.
 * Records are `length (u32 BE) + CRC-32 (u32 BE) + JSON payload` in numbered
 * segment files; {@linkcode Spool.peek}/{@linkcode Spool.commit} hand them out
 * in write order, and a segment is deleted once every record in it is
 * committed. A torn or corrupt record (a crash mid-append) ends its segment's
 * replay and is logged. The total size is capped: {@linkcode Spool.append}
 * throws {@linkcode SpoolFullError} rather than grow past `maxBytes` (unless
 * forced, for a shutdown that must not drop data).
 */
export class Spool implements AsyncDisposable {
  readonly dir: string;
  readonly #maxBytes: number;
  readonly #segmentBytes: number;
  readonly #sync: boolean;
  readonly #log: Logger;
  /** Segment numbers on disk, oldest first. */
  #segments: number[] = [];
  #sizes = new Map<number, number>();
  #writeFile: Deno.FsFile | undefined;
  #writeSeg = 0;
  /** Records read from the oldest segment and not yet committed. */
  #readQueue: SpoolRecord[] = [];
  #readSeg = -1;
  #readOffset = 0;
  #records = 0;
  #closed = false;

  private constructor(dir: string, options: SpoolOptions) {
    this.dir = dir;
    this.#maxBytes = options.maxBytes ?? 1024 ** 3;
    this.#segmentBytes = options.segmentBytes ??
      Math.max(64 * 1024, Math.min(64 * 1024 ** 2, Math.floor(this.#maxBytes / 4)));
    this.#sync = options.sync ?? true;
    this.#log = options.logger ?? nullLogger;
  }

  /**
   * Opens (creating it if needed) the spool in `dir` and finds records left by
   * an earlier run, which are replayed first.
   */
  static async open(dir: string, options: SpoolOptions = {}): Promise<Spool> {
    try {
      await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
    } catch (err) {
      throw new Error(`Cannot create spool directory "${dir}": ${(err as Error).message}`, {
        cause: err,
      });
    }
    const spool = new Spool(dir, options);
    for await (const e of Deno.readDir(dir)) {
      const m = e.isFile ? SEGMENT.exec(e.name) : null;
      if (!m) continue;
      const seg = Number(m[1]);
      spool.#segments.push(seg);
      spool.#sizes.set(seg, (await Deno.stat(join(dir, e.name))).size);
    }
    spool.#segments.sort((a, b) => a - b);
    spool.#writeSeg = (spool.#segments.at(-1) ?? 0) + 1;
    // Count what is there so `empty` is right before the first read.
    for (const seg of spool.#segments) {
      spool.#records += spool.#decode(seg, await Deno.readFile(spool.#path(seg))).length;
    }
    return spool;
  }

  #path(seg: number): string {
    return join(this.dir, `${String(seg).padStart(10, "0")}.spool`);
  }

  /** Bytes on disk. */
  get bytes(): number {
    let n = 0;
    for (const s of this.#sizes.values()) n += s;
    return n;
  }

  /** Records not yet committed. */
  get records(): number {
    return this.#records;
  }

  /** Whether every record has been committed. */
  get empty(): boolean {
    return this.#records === 0;
  }

  /**
   * Appends a record (durably, with `sync`). Throws {@linkcode SpoolFullError}
   * when it would exceed `maxBytes`, unless `force` (shutdown).
   */
  async append(record: SpoolRecord, force = false): Promise<void> {
    if (this.#closed) throw new Error(`Spool "${this.dir}" is closed`);
    const payload = new TextEncoder().encode(
      JSON.stringify({ ...record, wire: Buffer.from(record.wire).toString("base64") }),
    );
    const size = HEADER + payload.length;
    if (!force && this.bytes + size > this.#maxBytes) {
      throw new SpoolFullError(
        `Spool "${this.dir}" is full: ${this.bytes} of ${this.#maxBytes} bytes used`,
      );
    }
    const cur = this.#sizes.get(this.#writeSeg);
    if (this.#writeFile && cur !== undefined && cur + size > this.#segmentBytes) {
      this.#writeFile.close();
      this.#writeFile = undefined;
      this.#writeSeg++;
    }
    if (!this.#writeFile) {
      this.#writeFile = await Deno.open(this.#path(this.#writeSeg), {
        create: true,
        append: true,
        mode: 0o600,
      });
      if (!this.#sizes.has(this.#writeSeg)) {
        this.#segments.push(this.#writeSeg);
        this.#sizes.set(this.#writeSeg, 0);
      }
    }
    const buf = new Uint8Array(size);
    const view = new DataView(buf.buffer);
    view.setUint32(0, payload.length);
    view.setUint32(4, crc32(payload));
    buf.set(payload, HEADER);
    let written = 0;
    while (written < buf.length) written += await this.#writeFile.write(buf.subarray(written));
    if (this.#sync) await this.#writeFile.syncData();
    this.#sizes.set(this.#writeSeg, (this.#sizes.get(this.#writeSeg) ?? 0) + size);
    this.#records++;
  }

  #decode(seg: number, data: Uint8Array, from = 0): SpoolRecord[] {
    const out: SpoolRecord[] = [];
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    let at = from;
    while (at + HEADER <= data.length) {
      const len = view.getUint32(at);
      const sum = view.getUint32(at + 4);
      const payload = data.subarray(at + HEADER, at + HEADER + len);
      if (payload.length < len || crc32(payload) !== sum) {
        this.#log.warn("spool record is torn or corrupt; skipping the rest of its segment", {
          file: this.#path(seg),
          offset: at,
        });
        break;
      }
      const r = JSON.parse(new TextDecoder().decode(payload)) as Omit<SpoolRecord, "wire"> & {
        wire: string;
      };
      out.push({ ...r, wire: new Uint8Array(Buffer.from(r.wire, "base64")) });
      at += HEADER + len;
    }
    if (seg === this.#readSeg) this.#readOffset = at;
    return out;
  }

  /** The oldest uncommitted record, or `undefined` when the spool is empty. */
  async peek(): Promise<SpoolRecord | undefined> {
    while (this.#readQueue.length === 0) {
      const seg = this.#segments[0];
      if (seg === undefined) return undefined;
      if (this.#readSeg !== seg) {
        this.#readSeg = seg;
        this.#readOffset = 0;
      }
      const data = await Deno.readFile(this.#path(seg));
      this.#readQueue = this.#decode(seg, data, this.#readOffset);
      if (this.#readQueue.length > 0) break;
      // Nothing more in this segment. Drop it unless it is still being written.
      if (seg === this.#writeSeg && this.#writeFile) {
        if (this.#records > 0) this.#records = 0; // torn tail: nothing readable is left
        return undefined;
      }
      await this.#dropSegment(seg);
    }
    return this.#readQueue[0];
  }

  /** Marks the record returned by {@linkcode Spool.peek} as stored; frees its segment when done. */
  async commit(): Promise<void> {
    if (this.#readQueue.shift() === undefined) return;
    this.#records--;
    if (this.#readQueue.length > 0) return;
    const seg = this.#readSeg;
    const size = this.#sizes.get(seg) ?? 0;
    if (this.#readOffset < size) return; // more appended since the read: read again
    if (seg === this.#writeSeg && this.#writeFile) {
      // Reader caught up with the writer: start a fresh segment next time.
      this.#writeFile.close();
      this.#writeFile = undefined;
      this.#writeSeg++;
    }
    await this.#dropSegment(seg);
  }

  async #dropSegment(seg: number): Promise<void> {
    this.#segments = this.#segments.filter((s) => s !== seg);
    this.#sizes.delete(seg);
    this.#readSeg = -1;
    this.#readOffset = 0;
    await Deno.remove(this.#path(seg)).catch(() => {});
  }

  /** Closes the open segment file. Records stay on disk for the next run. Idempotent. */
  close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.#writeFile?.close();
      this.#writeFile = undefined;
    }
    return Promise.resolve();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
