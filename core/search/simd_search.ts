/**
 * A WebAssembly SIMD substring search for the reread scan: 16 positions
 * per step are tested at once for the needle's first and last byte, and
 * only those candidates are compared in full (the "generic SIMD" method of
 * Wojciech Muła). The haystack must live in the module's memory, so the
 * file is read straight into it ({@linkcode SimdSearcher.buffer}).
 *
 * The same module holds the line filter of a one-pass batch check
 * (`lineMarks`, in `_line_marks_wasm.ts`), working on the same memory.
 * The module is assembled here from its instructions (no build tool,
 * `_wasm.ts`); the text form is in the comments of {@linkcode findBody}.
 */
import { indexOfBytes } from "./line_search.ts";
import {
  ADD,
  AND,
  ANY_TRUE,
  at,
  BITMASK,
  BLOCK,
  BR,
  BR_IF,
  CONST,
  CTZ,
  END,
  EQ8,
  EQZ,
  GE_S,
  GET,
  GT_S,
  I32,
  IF,
  LOAD8U,
  LOOP,
  MEM0,
  name,
  NE,
  OR,
  RETURN,
  section,
  SET,
  SHL,
  SIMD,
  sleb,
  SPLAT,
  SUB,
  SWIZZLE,
  uleb,
  V128,
  V_AND,
  V_CONST,
  V_LOAD,
  V_OR,
  VOID,
} from "./_wasm.ts";
import { lineMarksBody } from "./_line_marks_wasm.ts";
import { LINE_KEYS, lineCandidates as plainCandidates, type LineFilter } from "./line_batch.ts";

/** Bytes reserved at the start of memory for the needle. */
const NEEDLE_MAX = 4096;
/** Memory layout after the needle: where `lineMarks` leaves off, its output, its bucket marks, the haystack. */
const RESUME_AT = NEEDLE_MAX;
const OUT_AT = RESUME_AT + 16;
const OUT_CAP = 65536; // i32s
const MARKS_AT = OUT_AT + 4 * OUT_CAP;
const HAY_AT = MARKS_AT + LINE_KEYS;

/** Lane `c` is 0xff for `c` = `\n` or `\r`: `i8x16.swizzle` of it by a byte tests for a line end (bytes >= 16 give 0). */
const LINE_END_TABLE = Array.from({ length: 16 }, (_, c) => (c === 0x0a || c === 0x0d ? 0xff : 0));

/**
 * Tries each candidate of the bit mask in local 7 (lowest first): `pos` =
 * `base` + its bit index into local 10, then needle bytes 1 to len - 2
 * compared (k in local 9; the first and last byte were tested by the
 * filter); a full match returns `pos`. Falls through when no candidate
 * matches.
 */
// deno-fmt-ignore
function tryCandidates(base: number[]): number[] {
  return [
    BLOCK, VOID, // $next
    LOOP, VOID, // $cand
    GET, 7, EQZ, BR_IF, 1, // no candidate left
    ...base, GET, 7, CTZ, ADD, SET, 10, // pos = base + ctz(mask)
    GET, 7, GET, 7, CONST, 1, SUB, AND, SET, 7, // mask &= mask - 1
    CONST, 1, SET, 9, // k = 1
    BLOCK, VOID, // $mismatch
    LOOP, VOID, // $cmp
    GET, 9, GET, 3, CONST, 1, SUB, GE_S, IF, VOID, GET, 10, RETURN, END, // k >= len-1: found
    GET, 0, GET, 10, ADD, GET, 9, ADD, LOAD8U, ...MEM0, // hay[pos + k]
    GET, 2, GET, 9, ADD, LOAD8U, ...MEM0, // ndl[k]
    NE, BR_IF, 1,
    GET, 9, CONST, 1, ADD, SET, 9,
    BR, 0,
    END, // $cmp
    END, // $mismatch
    BR, 0,
    END, // $cand
    END, // $next
  ];
}

// Locals: 0 hay, 1 hayLen, 2 ndl, 3 len, 4 from (params); 5 i, 6 limit, 7 mask,
// 8 (unused), 9 k, 10 pos (i32); 11 first, 12 last (v128).
/** The body of `find(hay, hayLen, ndl, len, from) -> i32`. */
// deno-fmt-ignore
function findBody(): number[] {
  return [
    2, 6, I32, 2, V128, // locals
    // first = i8x16.splat(mem[ndl]); last = i8x16.splat(mem[ndl + len - 1])
    GET, 2, LOAD8U, ...MEM0, SIMD, SPLAT, SET, 11,
    GET, 2, GET, 3, ADD, CONST, 1, SUB, LOAD8U, ...MEM0, SIMD, SPLAT, SET, 12,
    // limit = hayLen - len - 15 (last i whose second load stays inside)
    GET, 1, GET, 3, SUB, CONST, 15, SUB, SET, 6,
    GET, 4, SET, 5, // i = from
    BLOCK, VOID, // $done
    LOOP, VOID, // $outer
    GET, 5, GET, 6, GT_S, BR_IF, 1, // i > limit: leave
    // mask = bitmask(eq(load(hay+i), first) & eq(load(hay+i+len-1), last))
    GET, 0, GET, 5, ADD, SIMD, V_LOAD, ...MEM0, GET, 11, SIMD, EQ8,
    GET, 0, GET, 5, ADD, GET, 3, ADD, CONST, 1, SUB, SIMD, V_LOAD, ...MEM0, GET, 12, SIMD, EQ8,
    SIMD, V_AND, SIMD, BITMASK, SET, 7,
    ...tryCandidates([GET, 5]),
    GET, 5, CONST, 16, ADD, SET, 5, // i += 16
    BR, 0,
    END, // $outer
    END, // $done
    // not found up to i: return -(i + 1) so the caller finishes the tail
    CONST, 0x7f, GET, 5, SUB,
    END,
  ];
}

// Locals of findLine: 0 hay, 1 hayLen, 2 ndl, 3 len, 4 from (params); 5 p (address of
// position i), 6 limit, 7 mask, 8 len - 1, 9 k, 10 pos (also p + len - 1 while a step's
// candidates are found) (i32); 11 first, 12 last, 13 LINE_END_TABLE, 14.. one mask per block (v128).
/**
 * Which of the 16 positions from `p + off` start a candidate line match:
 * the needle's first byte there, its last byte at `+ len - 1`, and `\n` or
 * `\r` right after it, at `+ len` (the byte that ends a line; tested with
 * one swizzle of {@linkcode LINE_END_TABLE}).
 */
// deno-fmt-ignore
function lineCandidates(off: number): number[] {
  return [
    GET, 5, SIMD, V_LOAD, ...at(off), GET, 11, SIMD, EQ8,
    GET, 10, SIMD, V_LOAD, ...at(off), GET, 12, SIMD, EQ8,
    SIMD, V_AND,
    GET, 13, GET, 10, SIMD, V_LOAD, ...at(off + 1), SIMD, SWIZZLE,
    SIMD, V_AND,
  ];
}

/**
 * 16-byte blocks of positions `findLine` tests per step: 4 (64 positions)
 * scanned 1M lines 20% faster than 2 and as fast as 8 (`search bench`'s file,
 * one piece in the L2 cache, alternating in one process, 2026-12-02).
 */
const STEP_BLOCKS = 4;

/**
 * The body of `findLine(hay, hayLen, ndl, len, from) -> i32`: the first
 * position whose needle is followed by `\n` or `\r`, {@linkcode STEP_BLOCKS}
 * blocks of 16 positions per step, whose candidates are combined before any
 * branch.
 */
// deno-fmt-ignore
function findLineBody(blocks = STEP_BLOCKS): number[] {
  const step = 16 * blocks;
  const marks = Array.from({ length: blocks }, (_, b) => 14 + b);
  const anyOf = marks.flatMap((m, b) => (b === 0 ? [GET, m] : [GET, m, SIMD, V_OR]));
  // each pair of blocks: a 32-bit mask of candidates, tried lowest first
  const pairs = Array.from({ length: blocks / 2 }, (_, h) => [
    GET, marks[2 * h]!, SIMD, BITMASK, GET, marks[2 * h + 1]!, SIMD, BITMASK, CONST, 16, SHL, OR, SET, 7,
    ...tryCandidates([GET, 5, GET, 0, SUB, ...(h === 0 ? [] : [CONST, ...sleb(32 * h), ADD])]),
  ]).flat();
  return [
    2, 6, I32, 3 + blocks, V128, // locals
    GET, 2, LOAD8U, ...MEM0, SIMD, SPLAT, SET, 11,
    GET, 2, GET, 3, ADD, CONST, 1, SUB, LOAD8U, ...MEM0, SIMD, SPLAT, SET, 12,
    SIMD, V_CONST, ...LINE_END_TABLE, SET, 13,
    GET, 3, CONST, 1, SUB, SET, 8,
    // limit = hay + hayLen - len - step (last p whose loads stay inside); p = hay + from
    GET, 0, GET, 1, ADD, GET, 3, SUB, CONST, ...sleb(step), SUB, SET, 6,
    GET, 0, GET, 4, ADD, SET, 5,
    BLOCK, VOID, // $done
    LOOP, VOID, // $outer
    GET, 5, GET, 6, GT_S, BR_IF, 1,
    GET, 5, GET, 8, ADD, SET, 10, // q = p + len - 1, in pos (free until a candidate is tried)
    ...marks.flatMap((m, b) => [...lineCandidates(16 * b), SET, m]),
    ...anyOf, SIMD, ANY_TRUE,
    IF, VOID,
    ...pairs,
    END, // if
    GET, 5, CONST, ...sleb(step), ADD, SET, 5, // p += step
    BR, 0,
    END, // $outer
    END, // $done
    // not found up to i = p - hay: return -(i + 1) so the caller finishes the tail
    GET, 0, GET, 5, SUB, CONST, 1, SUB,
    END,
  ];
}

// deno-fmt-ignore
function moduleBytes(): Uint8Array {
  const body = findBody();
  const lineBody = findLineBody();
  const marksBody = lineMarksBody({ resumeAt: RESUME_AT, marksAt: MARKS_AT });
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // "\0asm", version 1
    ...section(1, [1, 0x60, 5, I32, I32, I32, I32, I32, 1, I32]), // type: (i32 x5) -> i32
    ...section(3, [3, 0, 0, 0]), // three functions of that type
    ...section(5, [1, 0x00, 1]), // memory: 1 page, growable
    ...section(7, [
      4, ...name("find"), 0x00, 0, ...name("findLine"), 0x00, 1, ...name("lineMarks"), 0x00, 2,
      ...name("mem"), 0x02, 0,
    ]), // exports
    ...section(10, [
      3, ...uleb(body.length), ...body, ...uleb(lineBody.length), ...lineBody,
      ...uleb(marksBody.length), ...marksBody,
    ]), // code
  ]);
}

type FindFn = (hay: number, hayLen: number, ndl: number, len: number, from: number) => number;

let compiled: WebAssembly.Module | null | undefined;

/**
 * Byte search over a haystack kept in WebAssembly memory. One instance per
 * thread; {@linkcode SimdSearcher.create} returns `undefined` where
 * WebAssembly SIMD is not available (the caller then uses `indexOfBytes`).
 */
export class SimdSearcher {
  readonly #mem: WebAssembly.Memory;
  readonly #find: FindFn;
  readonly #findLine: FindFn;
  readonly #lineMarks: FindFn;
  #view: Uint8Array;

  private constructor(instance: WebAssembly.Instance) {
    this.#mem = instance.exports.mem as WebAssembly.Memory;
    this.#find = instance.exports.find as FindFn;
    this.#findLine = instance.exports.findLine as FindFn;
    this.#lineMarks = instance.exports.lineMarks as FindFn;
    this.#view = new Uint8Array(this.#mem.buffer);
  }

  /** A searcher, or `undefined` without WebAssembly SIMD. */
  static create(): SimdSearcher | undefined {
    if (compiled === undefined) {
      try {
        compiled = new WebAssembly.Module(moduleBytes() as BufferSource);
      } catch {
        compiled = null;
      }
    }
    return compiled ? new SimdSearcher(new WebAssembly.Instance(compiled)) : undefined;
  }

  #bytes(): Uint8Array {
    if (this.#view.buffer !== this.#mem.buffer) this.#view = new Uint8Array(this.#mem.buffer);
    return this.#view;
  }

  /**
   * A view of at least `size` bytes inside the module's memory, for reading
   * the file into. Growing keeps earlier bytes; views from before a growth
   * are stale (take a new one).
   */
  buffer(size: number): Uint8Array {
    const need = HAY_AT + size;
    const have = this.#mem.buffer.byteLength;
    if (need > have) this.#mem.grow(Math.ceil((need - have) / 65536));
    return new Uint8Array(this.#mem.buffer, HAY_AT, size);
  }

  /**
   * A `LineFilter` (see `LineBatch`): the table of marked buckets lives in
   * this searcher's memory, and the lines of a haystack in that memory are
   * filtered 16 bytes per step.
   */
  readonly lineFilter: LineFilter = {
    marks: () => {
      const buf = this.#mem.buffer;
      if (this.#marksView.buffer !== buf) {
        this.#marksView = new Uint8Array(buf, MARKS_AT, LINE_KEYS);
      }
      return this.#marksView;
    },
    candidates: (haystack, from, maxLen) => {
      const marks = this.lineFilter.marks();
      if (haystack.buffer !== this.#mem.buffer) {
        return plainCandidates(marks, haystack, from, maxLen);
      }
      const base = haystack.byteOffset + from;
      const n = this.#lineMarks(base, haystack.length - from, OUT_AT, OUT_CAP, maxLen);
      const mem = this.#mem.buffer;
      const pairs = new Int32Array(mem, OUT_AT, n);
      if (from !== 0) { for (let k = 0; k < n; k += 2) pairs[k]! += from; }
      const next = from + new Int32Array(mem, RESUME_AT, 1)[0]!;
      return { pairs, next, full: n + 2 > OUT_CAP };
    },
  };
  #marksView: Uint8Array = new Uint8Array(0);

  /**
   * A `ByteFinder`: finds `needle` in `haystack` from `from`. Uses SIMD when
   * `haystack` lies in this searcher's memory, `indexOfBytes` otherwise.
   */
  readonly find = (haystack: Uint8Array, needle: Uint8Array, from: number): number =>
    this.#run(this.#find, haystack, needle, from);

  /**
   * A `ByteFinder` for `containsLine`, faster than {@linkcode find} on
   * files of short lines: it skips occurrences of `needle` that are not
   * followed by `\n` or `\r` (they cannot end a line) except in the last
   * few dozen bytes, where it returns any occurrence. So it is not a
   * general substring search; `containsLine` checks each hit's line end.
   */
  readonly findLine = (haystack: Uint8Array, needle: Uint8Array, from: number): number =>
    this.#run(this.#findLine, haystack, needle, from);

  #run(fn: FindFn, haystack: Uint8Array, needle: Uint8Array, from: number): number {
    const len = needle.length;
    if (haystack.buffer !== this.#mem.buffer || len < 2 || len > NEEDLE_MAX) {
      return indexOfBytes(haystack, needle, from);
    }
    this.#bytes().set(needle, 0);
    const r = fn(haystack.byteOffset, haystack.length, 0, len, from);
    if (r >= 0) return r;
    return indexOfBytes(haystack, needle, -1 - r);
  }
}
