/**
 * Many queries checked against a piece of the file in one pass: each line
 * of the piece is looked up among the queries (by length and a few of its
 * bytes), instead of searching the piece once per query. One pass costs
 * about as much as a few single-query SIMD searches, so it pays off for the
 * batches a busy server reads the file for.
 */
import type { LineEdges } from "./line_search.ts";

const LF = 0x0a;
const CR = 0x0d;

/**
 * Gives the offsets of every `\n` in `haystack[from, to)` (`to - from` is at
 * most {@linkcode NEWLINE_WINDOW}); the view may be reused by the next call.
 */
export type NewlineFinder = (haystack: Uint8Array, from: number, to: number) => Int32Array;

/** Most bytes per {@linkcode NewlineFinder} call (the SIMD one's output space). */
export const NEWLINE_WINDOW = 65536;

/** The bucket of a line or query of `len` bytes starting at `s` (length, first, second and last byte). */
function keyOf(b: Uint8Array, s: number, len: number): number {
  const mix = len ^ (b[s]! << 11) ^ (b[s + (len >> 1)]! << 19) ^ (b[s + len - 1]! << 24);
  return Math.imul(mix, 0x9e3779b1) >>> 16;
}

/**
 * The open queries of one read. {@linkcode LineBatch.matchPiece} marks
 * every query that is a whole line of a piece, with the same line rules as
 * `containsLine` (`\n` or `\r\n` endings, `\r` before the end of the file).
 */
export class LineBatch {
  readonly #queries: readonly Uint8Array[];
  readonly #marks = new Uint8Array(65536);
  readonly #buckets = new Map<number, number[]>();
  readonly #newlines: NewlineFinder;
  /** 1 for a query found (or dropped): not looked for any more. */
  readonly #done: Uint8Array;
  #maxLen = 0;
  #open = 0;

  /** `open` lists the indexes of `queries` still to find (non-empty, without `\n`). */
  constructor(queries: readonly Uint8Array[], open: readonly number[], newlines: NewlineFinder) {
    this.#queries = queries;
    this.#newlines = newlines;
    this.#done = new Uint8Array(queries.length);
    for (const i of open) {
      const q = queries[i]!;
      const key = keyOf(q, 0, q.length);
      this.#marks[key] = 1;
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
   * with the `\n` ending the line before it). Stops once all are found.
   */
  matchPiece(piece: Uint8Array, edges: Required<LineEdges>, found: boolean[]): void {
    let s = edges.fileStart ? 0 : 1; // the current line's start
    for (let from = s; from < piece.length && this.#open > 0; from += NEWLINE_WINDOW) {
      const to = Math.min(piece.length, from + NEWLINE_WINDOW);
      const ends = this.#newlines(piece, from, to);
      for (let k = 0; k < ends.length; k++) {
        const e = ends[k]!;
        this.#line(piece, s, e - s, found);
        s = e + 1;
      }
    }
    if (edges.fileEnd && s < piece.length) this.#line(piece, s, piece.length - s, found);
  }

  /** Checks the line `piece[s, s + len)`, and without a final `\r` as well. */
  #line(piece: Uint8Array, s: number, len: number, found: boolean[]): void {
    if (len === 0 || this.#open === 0) return;
    if (len <= this.#maxLen) this.#check(piece, s, len, found);
    if (len > 1 && piece[s + len - 1] === CR && len - 1 <= this.#maxLen) {
      this.#check(piece, s, len - 1, found);
    }
  }

  #check(piece: Uint8Array, s: number, len: number, found: boolean[]): void {
    const key = keyOf(piece, s, len);
    if (this.#marks[key] === 0) return;
    for (const i of this.#buckets.get(key)!) {
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

/** A `NewlineFinder` without SIMD. */
export function newlinesOf(haystack: Uint8Array, from: number, to: number): Int32Array {
  const out: number[] = [];
  for (let i = haystack.indexOf(LF, from); i >= 0 && i < to; i = haystack.indexOf(LF, i + 1)) {
    out.push(i);
  }
  return Int32Array.from(out);
}
