/**
 * Many queries checked against a piece of the file in one pass: each line
 * of the piece is put in a bucket by its length and three of its bytes, and
 * only lines whose bucket holds a query are compared. One pass costs about
 * as much as a few single-query SIMD searches, so it pays off for the
 * batches a busy server reads the file for.
 */
import type { LineEdges } from "./line_search.ts";

const LF = 0x0a;
const CR = 0x0d;

/** Number of buckets. */
export const LINE_KEYS = 65536;
/** The multiplier of {@linkcode lineKey} (as a signed 32-bit integer). */
export const KEY_MUL = 0x9e3779b1 | 0;

/**
 * The bucket of the `len` bytes of `b` from `s` (`len` >= 1): a hash of the
 * length, the first, middle and last byte. The WebAssembly filter in
 * `simd_search.ts` computes the same.
 */
export function lineKey(b: Uint8Array, s: number, len: number): number {
  const mix = len ^ (b[s]! << 11) ^ (b[s + (len >> 1)]! << 19) ^ (b[s + len - 1]! << 24);
  return Math.imul(mix, KEY_MUL) >>> 16;
}

/** The candidate lines of one {@linkcode LineFilter.candidates} call. */
export interface LineCandidates {
  /** (start, length) pairs, by start; a line ending in `\r` may be listed with and without it. */
  pairs: Int32Array;
  /** Where the lines not looked at begin (after the last `\n` when the call got to the end). */
  next: number;
  /** Whether the call stopped early because its output was full (call again from `next`). */
  full: boolean;
}

/** Picks out the lines whose bucket is marked. */
export interface LineFilter {
  /** The table of {@linkcode LINE_KEYS} bucket marks (1 = a query is in it); take it anew after the haystack grows. */
  marks(): Uint8Array;
  /**
   * The lines of `haystack` from `from` (a line start) that end in a `\n`,
   * with a length from 1 to `maxLen`, whose bucket is marked.
   */
  candidates(haystack: Uint8Array, from: number, maxLen: number): LineCandidates;
}

/** The filter without SIMD: {@linkcode lineCandidates} over a table of its own. */
export function plainLineFilter(): LineFilter {
  const marks = new Uint8Array(LINE_KEYS);
  return {
    marks: () => marks,
    candidates: (h, from, maxLen) => lineCandidates(marks, h, from, maxLen),
  };
}

/** {@linkcode LineFilter.candidates} in plain JavaScript, with `marks` as the table. */
export function lineCandidates(
  marks: Uint8Array,
  haystack: Uint8Array,
  from: number,
  maxLen: number,
): LineCandidates {
  const out: number[] = [];
  let s = from;
  for (let e = haystack.indexOf(LF, s); e >= 0; e = haystack.indexOf(LF, s)) {
    const len = e - s;
    if (len >= 1 && len <= maxLen && marks[lineKey(haystack, s, len)] === 1) out.push(s, len);
    if (len >= 2 && haystack[e - 1] === CR && len - 1 <= maxLen) {
      if (marks[lineKey(haystack, s, len - 1)] === 1) out.push(s, len - 1);
    }
    s = e + 1;
  }
  return { pairs: Int32Array.from(out), next: s, full: false };
}

/**
 * The open queries of one read. {@linkcode LineBatch.matchPiece} marks
 * every query that is a whole line of a piece, with the same line rules as
 * `containsLine` (`\n` or `\r\n` endings, `\r` before the end of the file).
 * One batch at a time per filter (it owns the filter's marks).
 */
export class LineBatch {
  readonly #queries: readonly Uint8Array[];
  readonly #buckets = new Map<number, number[]>();
  readonly #filter: LineFilter;
  /** 1 for a query found (or dropped): not looked for any more. */
  readonly #done: Uint8Array;
  #maxLen = 0;
  #open = 0;

  /** `open` lists the indexes of `queries` still to find (non-empty, without `\n`). */
  constructor(queries: readonly Uint8Array[], open: readonly number[], filter: LineFilter) {
    this.#queries = queries;
    this.#filter = filter;
    this.#done = new Uint8Array(queries.length);
    const marks = filter.marks();
    marks.fill(0);
    for (const i of open) {
      const q = queries[i]!;
      const key = lineKey(q, 0, q.length);
      marks[key] = 1;
      const bucket = this.#buckets.get(key);
      if (bucket) bucket.push(i);
      else this.#buckets.set(key, [i]);
      this.#maxLen = Math.max(this.#maxLen, q.length);
      this.#open++;
    }
  }

  /** Queries not found yet. */
  get open(): number {
    return this.#open;
  }

  /** Stops looking for query `i` (found elsewhere). */
  drop(i: number): void {
    if (this.#done[i] === 1) return;
    this.#done[i] = 1;
    this.#open--;
  }

  /**
   * Sets `found[i]` for each open query that is a line of `piece` (a piece
   * as `containsLine` takes it: one that does not start the file starts
   * with the `\n` ending the line before it).
   */
  matchPiece(piece: Uint8Array, edges: Required<LineEdges>, found: boolean[]): void {
    let s = edges.fileStart ? 0 : 1; // the current line's start
    while (this.#open > 0) {
      const { pairs, next, full } = this.#filter.candidates(piece, s, this.#maxLen);
      for (let k = 0; k < pairs.length; k += 2) this.#check(piece, pairs[k]!, pairs[k + 1]!, found);
      s = next;
      if (!full) break;
    }
    // The last line of the file may have no "\n".
    const len = piece.length - s;
    if (!edges.fileEnd || len === 0 || this.#open === 0) return;
    if (len <= this.#maxLen) this.#check(piece, s, len, found);
    if (len > 1 && piece[s + len - 1] === CR && len - 1 <= this.#maxLen) {
      this.#check(piece, s, len - 1, found);
    }
  }

  /** Marks the open queries equal to `piece[s, s + len)`. */
  #check(piece: Uint8Array, s: number, len: number, found: boolean[]): void {
    const bucket = this.#buckets.get(lineKey(piece, s, len));
    if (!bucket) return;
    for (const i of bucket) {
      if (this.#done[i] === 1) continue;
      const q = this.#queries[i]!;
      if (q.length !== len) continue;
      let j = 0;
      while (j < len && piece[s + j] === q[j]) j++;
      if (j === len) {
        found[i] = true;
        this.drop(i);
      }
    }
  }
}
