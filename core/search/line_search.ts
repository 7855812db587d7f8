/**
 * Byte-exact full-line search over the raw bytes of a file: no text
 * decoding, lines end in `\n` or `\r\n`, the first and the last line (with
 * or without a final newline) count.
 */

const LF = 0x0a;
const CR = 0x0d;

/** The skip tables, reused: the search is synchronous. */
const skip1 = new Int32Array(256);
const skip2 = new Uint16Array(65536);

/**
 * Finds `needle` in `haystack` from `from` with Boyer-Moore-Horspool over
 * bytes. Needles of 4 bytes or more shift by the last two bytes of the
 * window (a bigram table), which skips much further over text with a small
 * alphabet (digits and separators) than the one-byte table. Returns the
 * index of the first occurrence, or -1.
 */
export function indexOfBytes(haystack: Uint8Array, needle: Uint8Array, from = 0): number {
  const len = needle.length;
  if (len === 0) return from <= haystack.length ? from : -1;
  const last = len - 1;
  const lastByte = needle[last]!;
  if (len === 1) return haystack.indexOf(lastByte, from);
  const end = haystack.length - len;
  let i = from;
  if (len < 4 || len > 0xffff) {
    skip1.fill(len);
    for (let j = 0; j < last; j++) skip1[needle[j]!] = last - j;
    while (i <= end) {
      const c = haystack[i + last]!;
      if (c === lastByte) {
        let j = last - 1;
        while (j >= 0 && haystack[i + j] === needle[j]) j--;
        if (j < 0) return i;
      }
      i += skip1[c]!;
    }
    return -1;
  }
  // Bigram Horspool: a pair that does not occur in the needle (before its
  // last position) lets the window move by len - 1.
  skip2.fill(last);
  for (let j = 1; j < last; j++) skip2[(needle[j - 1]! << 8) | needle[j]!] = last - j;
  const prevByte = needle[last - 1]!;
  while (i <= end) {
    const y = haystack[i + last]!;
    const x = haystack[i + last - 1]!;
    if (y === lastByte && x === prevByte) {
      let j = last - 2;
      while (j >= 0 && haystack[i + j] === needle[j]) j--;
      if (j < 0) return i;
    }
    i += skip2[(x << 8) | y]!;
  }
  return -1;
}

/**
 * Where `haystack` lies in its file, for searching a file piece by piece:
 * whether it starts at the file's start (its first line has no `\n` before
 * it) and ends at the file's end (its last line may lack a newline). A
 * piece that does not start the file must start with the `\n` that ends the
 * line before it; one that does not end the file must end with a `\n`.
 */
export interface LineEdges {
  /** Default true. */
  fileStart?: boolean;
  /** Default true. */
  fileEnd?: boolean;
}

/** Whether a line that ends at `end` (exclusive) is complete there: `\n`, `\r\n`, `\r`+EOF or EOF. */
function lineEndsAt(haystack: Uint8Array, end: number, fileEnd: boolean): boolean {
  if (end === haystack.length) return fileEnd;
  const c = haystack[end];
  if (c === LF) return true;
  return c === CR && (end + 1 === haystack.length ? fileEnd : haystack[end + 1] === LF);
}

/** A substring search over bytes (`indexOfBytes`, or another for comparison in `search bench`). */
export type ByteFinder = (haystack: Uint8Array, needle: Uint8Array, from: number) => number;

/**
 * Whether `query` is a whole line of `haystack`, byte for byte. An empty
 * query never matches (an empty line is not a searchable string).
 *
 * @example
 * ```ts
 * const bytes = await Deno.readFile("words.txt");
 * containsLine(bytes, new TextEncoder().encode("apple")); // true when "apple" is a line
 * ```
 */
export function containsLine(
  haystack: Uint8Array,
  query: Uint8Array,
  find: ByteFinder = indexOfBytes,
  edges: LineEdges = {},
): boolean {
  const q = query.length;
  if (q === 0 || q > haystack.length) return false;
  const fileEnd = edges.fileEnd ?? true;
  if (edges.fileStart ?? true) {
    // The first line has no "\n" before it.
    let k = 0;
    while (k < q && haystack[k] === query[k]) k++;
    if (k === q && lineEndsAt(haystack, q, fileEnd)) return true;
  }
  const needle = new Uint8Array(q + 1);
  needle[0] = LF;
  needle.set(query, 1);
  let at = 0;
  while (true) {
    const hit = find(haystack, needle, at);
    if (hit < 0) return false;
    if (lineEndsAt(haystack, hit + 1 + q, fileEnd)) return true;
    at = hit + 1;
  }
}
