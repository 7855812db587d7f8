/**
 * The reread scan: the file is read in pieces into one reused buffer, and
 * each piece is searched for every query while it is still in the CPU's
 * cache. Reading a large file whole and then scanning it touches every
 * byte twice in main memory (the copy out of the page cache, then the
 * scan); piece by piece, the second touch is a cache hit, so the cost per
 * line stays the same however large the file grows.
 */
import { type BufferAllocator, openSearchFile, SearchFileError } from "./file_bytes.ts";
import { type ByteFinder, containsLine, indexOfBytes } from "./line_search.ts";

const LF = 0x0a;

/** Options for {@linkcode ChunkedLineScanner}. */
export interface ChunkedLineScannerOptions {
  /** Places the buffer (for example in WebAssembly memory). Default: a plain `Uint8Array`. */
  alloc?: BufferAllocator;
  /** The byte search used on each piece. Default `indexOfBytes`. */
  find?: ByteFinder;
  /** Bytes read per piece. Default 512 KiB (a piece and its scan stay in a core's L2 cache). */
  chunkBytes?: number;
}

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

  constructor(options: ChunkedLineScannerOptions = {}) {
    const chunk = options.chunkBytes ?? DEFAULT_CHUNK_BYTES;
    if (!Number.isInteger(chunk) || chunk < 1) {
      throw new RangeError(`Invalid chunk size: expected an integer >= 1 byte, got ${chunk}`);
    }
    this.#chunk = chunk;
    this.#find = options.find ?? indexOfBytes;
    this.#alloc = options.alloc ?? ((size, keep) => {
      const next = new Uint8Array(size);
      if (keep > 0) next.set(this.#buf.subarray(0, keep));
      return next;
    });
    this.#buf = new Uint8Array(0);
    this.#buf = this.#alloc(chunk, 0);
  }

  /** For each query, whether it is a line of `path`. Throws `SearchFileError`. */
  scan(path: string, queries: readonly Uint8Array[]): boolean[] {
    const found = queries.map(() => false);
    const open = queries.flatMap((q, i) => q.length > 0 && !q.includes(LF) ? [i] : []);
    const { file } = openSearchFile(path);
    try {
      // buf[0, carry) holds the unfinished last line of the previous piece,
      // from the "\n" that ends the line before it.
      let carry = 0;
      let fileStart = true;
      while (open.length > 0) {
        if (this.#buf.length < carry + this.#chunk) {
          this.#buf = this.#alloc(Math.max(carry + this.#chunk, 2 * this.#buf.length), carry);
        }
        const buf = this.#buf;
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
        let end = used;
        if (!eof) {
          const nl = buf.subarray(carry, used).lastIndexOf(LF);
          if (nl < 0) {
            carry = used; // one long line: keep it all and read on
            continue;
          }
          end = carry + nl + 1;
        }
        const piece = buf.subarray(0, end);
        const edges = { fileStart, fileEnd: eof };
        for (let k = open.length - 1; k >= 0; k--) {
          const i = open[k]!;
          if (containsLine(piece, queries[i]!, this.#find, edges)) {
            found[i] = true;
            open.splice(k, 1);
          }
        }
        if (eof) break;
        buf.copyWithin(0, end - 1, used);
        carry = used - end + 1;
        fileStart = false;
      }
      return found;
    } catch (err) {
      throw SearchFileError.from(path, err);
    } finally {
      file.close();
    }
  }
}
