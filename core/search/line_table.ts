/**
 * A hash index of the lines of a file, keyed by the lines' raw bytes (no
 * text decoding, so every byte sequence keeps its identity). It lives in a
 * few typed arrays that a Worker builds and transfers to the main thread
 * without copying; lookups there cost a hash of the query and a byte compare.
 */

const LF = 0x0a;
const CR = 0x0d;

/** The typed arrays of a {@linkcode LineTable}, transferable between threads. */
export interface LineTableData {
  /** The file's bytes. */
  bytes: Uint8Array;
  /** Start offset of each distinct line in `bytes`. */
  starts: Int32Array;
  /** Length of each distinct line (without `\n`/`\r\n`). */
  lengths: Int32Array;
  /** FNV-1a hash of each distinct line. */
  hashes: Uint32Array;
  /** Open-addressing table (power of two): line number + 1, 0 for empty. */
  slots: Int32Array;
  /** Number of distinct non-empty lines. */
  count: number;
}

/** FNV-1a, 32 bits, over `bytes[start, end)`. */
export function fnv1a(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let h = 0x811c9dc5;
  for (let i = start; i < end; i++) {
    h ^= bytes[i]!;
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** A set of the (non-empty) lines of a byte buffer; see {@linkcode LineTable.build}. */
export class LineTable {
  readonly #d: LineTableData;
  readonly #mask: number;

  constructor(data: LineTableData) {
    this.#d = data;
    this.#mask = data.slots.length - 1;
  }

  /** The typed arrays, for `postMessage(data, LineTable.transferList(data))`. */
  get data(): LineTableData {
    return this.#d;
  }

  /** Number of distinct non-empty lines. */
  get size(): number {
    return this.#d.count;
  }

  /** The buffers to transfer when posting `data` to another thread. */
  static transferList(data: LineTableData): ArrayBuffer[] {
    return [data.bytes, data.starts, data.lengths, data.hashes, data.slots].map((a) =>
      a.buffer as ArrayBuffer
    );
  }

  /**
   * Indexes every line of `bytes` (`\n` or `\r\n` endings; a final line
   * without newline counts). `bytes` is kept, not copied.
   *
   * @example
   * ```ts
   * const table = LineTable.build(await Deno.readFile("words.txt"));
   * table.has(new TextEncoder().encode("apple"));
   * ```
   */
  static build(bytes: Uint8Array): LineTable {
    // Count lines first so that every array is allocated once.
    let lines = 1;
    for (let i = bytes.indexOf(LF); i >= 0; i = bytes.indexOf(LF, i + 1)) lines++;
    let cap = 16;
    while (cap < lines * 2) cap *= 2;
    const starts = new Int32Array(lines);
    const lengths = new Int32Array(lines);
    const hashes = new Uint32Array(lines);
    const slots = new Int32Array(cap);
    const mask = cap - 1;
    let count = 0;
    let start = 0;
    const n = bytes.length;
    while (start <= n) {
      let nl = bytes.indexOf(LF, start);
      if (nl < 0) nl = n;
      let end = nl;
      if (end > start && bytes[end - 1] === CR) end--;
      if (end > start) {
        const h = fnv1a(bytes, start, end);
        const len = end - start;
        let s = h & mask;
        let dup = false;
        for (let li = slots[s]!; li !== 0; li = slots[s]!) {
          const other = li - 1;
          if (
            hashes[other] === h && lengths[other] === len &&
            equalAt(bytes, starts[other]!, bytes, start, len)
          ) {
            dup = true;
            break;
          }
          s = (s + 1) & mask;
        }
        if (!dup) {
          starts[count] = start;
          lengths[count] = len;
          hashes[count] = h;
          slots[s] = ++count;
        }
      }
      start = nl + 1;
    }
    return new LineTable({ bytes, starts, lengths, hashes, slots, count });
  }

  /** Whether `query` is one of the lines, byte for byte. */
  has(query: Uint8Array): boolean {
    const len = query.length;
    if (len === 0) return false;
    const d = this.#d;
    const h = fnv1a(query);
    let s = h & this.#mask;
    for (let li = d.slots[s]!; li !== 0; li = d.slots[s]!) {
      const i = li - 1;
      if (
        d.hashes[i] === h && d.lengths[i] === len && equalAt(d.bytes, d.starts[i]!, query, 0, len)
      ) {
        return true;
      }
      s = (s + 1) & this.#mask;
    }
    return false;
  }
}

function equalAt(a: Uint8Array, ai: number, b: Uint8Array, bi: number, len: number): boolean {
  for (let k = 0; k < len; k++) if (a[ai + k] !== b[bi + k]) return false;
  return true;
}
