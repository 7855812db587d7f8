/**
 * The reread scan: the file is read in pieces into one reused buffer, and
 * each piece is searched for every query while it is still in the CPU's
 * cache. Reading a large file whole and then scanning it touches every
 * byte twice in main memory (the copy out of the page cache, then the
 * scan); piece by piece, the second touch is a cache hit, so the cost per
 * line stays the same however large the file grows.
 */
import {
  type BufferAllocator,
  type FileVersion,
  openSearchFile,
  SearchFileError,
  versionOf,
} from "./file_bytes.ts";
import { type ByteFinder, containsLine, indexOfBytes } from "./line_search.ts";
import { LineBatch, type LineFilter } from "./line_batch.ts";

const LF = 0x0a;

/** Options for {@linkcode ChunkedLineScanner}. */
export interface ChunkedLineScannerOptions {
  /** Places the buffer (for example in WebAssembly memory). Default: a plain `Uint8Array`. */
  alloc?: BufferAllocator;
  /** The byte search used on each piece. Default `indexOfBytes`. */
  find?: ByteFinder;
  /** Bytes read per piece. Default 512 KiB (a piece and its scan stay in a core's L2 cache). */
  chunkBytes?: number;
  /**
   * Picks out the lines of a piece worth comparing, for checking many
   * queries in one pass ({@linkcode LineBatch}). Default: none (each query
   * searched apart).
   */
  lines?: LineFilter;
  /** With `lines`: the fewest queries of a read checked in one pass. Default {@linkcode BATCH_FROM}. */
  batchFrom?: number;
}

/**
 * Queries of one read from which one pass over the lines beats one SIMD
 * search per query (measured with `search bench`'s 1M-line file).
 */
export const BATCH_FROM = 4;

/**
 * Page size for placing reads. The kernel copies a read out of the page
 * cache fastest when the destination address and the file offset agree
 * modulo the page: on an AMD EPYC (Zen 3) here, 512 KiB reads landing 1–31
 * bytes past that took 5× as long (1.6 against 8–10 GB/s), and a scan's
 * carried line kept every read of a file in that band.
 */
const PAGE = 4096;

/**
 * Where in `buf` the byte at file offset `fileAt` goes so that reads into
 * `buf` are page-congruent: `buf`'s offset in its `ArrayBuffer` is taken as
 * its address modulo the page (true of WebAssembly memory, whose base is
 * page-aligned).
 */
function congruent(fileAt: number, buf: Uint8Array): number {
  return (((fileAt - buf.byteOffset) % PAGE) + PAGE) % PAGE;
}

/** Which part of the file a scan covers (see {@linkcode ChunkedLineScanner.scanPart}). */
export interface ScanPart {
  /** This part, from 0. */
  index: number;
  /** How many parts the file is split into. */
  of: number;
  /** One flag per query, shared by the parts of one batch: 1 once a part has found it. */
  flags?: Int32Array;
}

/** What one scan of a part saw. */
export interface ScanOutcome {
  /** For each query, whether this part holds it as a line. */
  found: boolean[];
  /** The file version the scan read (parts of one batch must agree). */
  version: FileVersion;
}

const WHOLE_FILE: ScanPart = { index: 0, of: 1 };

/** Default bytes per piece. */
export const DEFAULT_CHUNK_BYTES = 512 * 1024;

/**
 * Answers, from one read of a file, which queries are whole lines of it
 * (byte for byte, `\n` or `\r\n` endings, first and last line included).
 * The file is read to its end unless every query is found first. A query
 * that is empty or contains `\n` is never a line. Not reentrant: one scan
 * at a time per scanner.
 *
 * @example
 * ```ts
 * const scanner = new ChunkedLineScanner();
 * scanner.scan("words.txt", [new TextEncoder().encode("apple")]); // [true] when "apple" is a line
 * ```
 */
export class ChunkedLineScanner {
  #buf: Uint8Array;
  readonly #alloc: BufferAllocator;
  readonly #find: ByteFinder;
  readonly #chunk: number;
  readonly #lines: LineFilter | undefined;
  readonly #batchFrom: number;

  constructor(options: ChunkedLineScannerOptions = {}) {
    const chunk = options.chunkBytes ?? DEFAULT_CHUNK_BYTES;
    if (!Number.isInteger(chunk) || chunk < 1) {
      throw new RangeError(`Invalid chunk size: expected an integer >= 1 byte, got ${chunk}`);
    }
    this.#chunk = chunk;
    this.#find = options.find ?? indexOfBytes;
    this.#lines = options.lines;
    this.#batchFrom = options.batchFrom ?? BATCH_FROM;
    this.#alloc = options.alloc ?? ((size, keep) => {
      const next = new Uint8Array(size);
      if (keep > 0) next.set(this.#buf.subarray(0, keep));
      return next;
    });
    this.#buf = new Uint8Array(0);
    this.#buf = this.#alloc(chunk + PAGE, 0);
  }

  /** For each query, whether it is a line of `path`. Throws `SearchFileError`. */
  scan(path: string, queries: readonly Uint8Array[]): boolean[] {
    return this.scanPart(path, queries).found;
  }

  /**
   * For each query, whether it is one of the lines that start in `part` of
   * `path` (default the whole file; the file's size split into `part.of` equal byte ranges; a line
   * belongs to the range its first byte is in, so the parts of one version
   * of the file together hold each line once). With `part.flags`, a query
   * another part has found is not looked for any more, and one this part
   * finds is flagged for the others. Throws `SearchFileError`.
   */
  scanPart(
    path: string,
    queries: readonly Uint8Array[],
    part: ScanPart = WHOLE_FILE,
  ): ScanOutcome {
    if (!Number.isInteger(part.of) || part.of < 1 || !(part.index >= 0 && part.index < part.of)) {
      throw new RangeError(`Invalid scan part: ${part.index} of ${part.of}`);
    }
    const found = queries.map(() => false);
    const open = queries.flatMap((q, i) => q.length > 0 && !q.includes(LF) ? [i] : []);
    const flags = part.flags;
    const batch = this.#lines && open.length >= this.#batchFrom
      ? new LineBatch(queries, open, this.#lines)
      : undefined;
    const { file, info } = openSearchFile(path);
    try {
      const size = info.size;
      const first = part.index === 0 ? 0 : Math.floor(size * part.index / part.of);
      const limit = part.index === part.of - 1
        ? Infinity
        : Math.floor(size * (part.index + 1) / part.of);
      // buf[0, carry) holds the unfinished last line of the previous piece,
      // from the "\n" that ends the line before it; buf[0] is at file offset bufAt.
      let carry = 0;
      let bufAt = 0;
      let fileStart = first === 0;
      // Whether the "\n" before this part's first line has been read (part 0: no "\n" needed).
      let aligned = fileStart;
      if (!fileStart) {
        bufAt = first - 1;
        file.seekSync(bufAt, Deno.SeekMode.Start);
      }
      // Where in #buf the carry (buf[0]) is.
      let at = 0;
      while (open.length > 0 && first < limit) {
        let base = congruent(bufAt, this.#buf);
        if (this.#buf.length < base + carry + this.#chunk) {
          this.#buf = this.#alloc(
            Math.max(PAGE + carry + this.#chunk, 2 * this.#buf.length),
            at + carry,
          );
          base = congruent(bufAt, this.#buf);
        }
        if (base !== at) this.#buf.copyWithin(base, at, at + carry);
        at = base;
        const buf = this.#buf.subarray(base);
        const want = carry + this.#chunk;
        let used = carry;
        let eof = false;
        while (used < want) {
          const n = file.readSync(buf.subarray(used, want));
          if (n === null) {
            eof = true;
            break;
          }
          used += n;
        }
        let start = 0;
        if (!aligned) {
          const nl = buf.subarray(0, used).indexOf(LF);
          if (nl < 0) {
            if (eof) break;
            bufAt += used; // inside the line the part before this one ends with
            continue;
          }
          if (bufAt + nl >= limit - 1) break; // no line starts in this part
          aligned = true;
          start = nl;
        }
        // The part ends with the line holding offset limit - 1, at its "\n".
        const stop = Math.max(0, limit - 1 - bufAt);
        const tail = stop < used ? buf.subarray(stop, used).indexOf(LF) : -1;
        let end: number;
        let done = true;
        if (tail >= 0) {
          end = stop + tail + 1;
        } else if (eof) {
          end = used;
        } else {
          done = false;
          const nl = buf.subarray(0, used).lastIndexOf(LF);
          if (nl <= start) {
            // One long line: keep it all (from its "\n") and read on.
            if (start > 0) buf.copyWithin(0, start, used);
            bufAt += start;
            carry = used - start;
            continue;
          }
          end = nl + 1;
        }
        this.#settle(open, flags, batch);
        const piece = buf.subarray(start, end);
        const edges = { fileStart, fileEnd: eof && tail < 0 };
        if (batch) {
          batch.matchPiece(piece, edges, found);
        } else {
          for (const i of open) {
            if (containsLine(piece, queries[i]!, this.#find, edges)) found[i] = true;
          }
        }
        for (let k = open.length - 1; k >= 0; k--) {
          const i = open[k]!;
          if (!found[i]) continue;
          if (flags) Atomics.store(flags, i, 1);
          open.splice(k, 1);
        }
        if (done) break;
        buf.copyWithin(0, end - 1, used);
        bufAt += end - 1;
        carry = used - end + 1;
        fileStart = false;
      }
      return { found, version: versionOf(info) };
    } catch (err) {
      throw SearchFileError.from(path, err);
    } finally {
      file.close();
    }
  }

  /** Drops from `open` the queries another part has flagged found. */
  #settle(open: number[], flags: Int32Array | undefined, batch: LineBatch | undefined): void {
    if (!flags) return;
    for (let k = open.length - 1; k >= 0; k--) {
      const i = open[k]!;
      if (Atomics.load(flags, i) === 0) continue;
      open.splice(k, 1);
      batch?.drop(i);
    }
  }
}
