/**
 * A WebAssembly SIMD substring search for the reread scan: 16 positions
 * per step are tested at once for the needle's first and last byte, and
 * only those candidates are compared in full (the "generic SIMD" method of
 * Wojciech Muła). The haystack must live in the module's memory, so the
 * file is read straight into it ({@linkcode SimdSearcher.buffer}).
 *
 * The module is assembled here from its instructions (no build tool); the
 * text form is in the comments of {@linkcode findBody}.
 */
import { indexOfBytes } from "./line_search.ts";
import { NEWLINE_WINDOW, newlinesOf } from "./line_batch.ts";

/** Bytes reserved at the start of memory for the needle. */
const NEEDLE_MAX = 4096;
/** Where the haystack buffer starts: after the needle and room for a window's `\n` offsets. */
const HAY_AT = NEEDLE_MAX + 4 * NEWLINE_WINDOW;

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

function section(id: number, body: number[]): number[] {
  return [id, ...uleb(body.length), ...body];
}

function name(s: string): number[] {
  const b = [...new TextEncoder().encode(s)];
  return [...uleb(b.length), ...b];
}

// Opcodes used below.
const I32 = 0x7f, V128 = 0x7b, VOID = 0x40;
const BLOCK = 0x02, LOOP = 0x03, IF = 0x04, END = 0x0b, BR = 0x0c, BR_IF = 0x0d, RETURN = 0x0f;
const GET = 0x20, SET = 0x21, CONST = 0x41, LOAD8U = 0x2d, STORE = 0x36;
const EQZ = 0x45, EQ = 0x46, NE = 0x47, GT_S = 0x4a, GE_S = 0x4e, CTZ = 0x68;
const ADD = 0x6a, SUB = 0x6b, AND = 0x71;
const SHL = 0x74, OR = 0x72;
const SIMD = 0xfd, V_LOAD = 0x00, SPLAT = 0x0f, EQ8 = 0x23, V_AND = 0x4e, BITMASK = 0x64;
const V_OR = 0x50, ANY_TRUE = 0x53, SWIZZLE = 0x0e, V_CONST = 0x0c;
/** Lane `c` is 0xff for `c` = `\n` or `\r`: `i8x16.swizzle` of it by a byte tests for a line end (bytes >= 16 give 0). */
const LINE_END_TABLE = Array.from({ length: 16 }, (_, c) => (c === 0x0a || c === 0x0d ? 0xff : 0));
/** `\n` as an i32.const immediate (signed LEB128 of 10). */
const LF_BYTE = 0x0a;
const MEM0 = [0x00, 0x00]; // memarg: align 2^0, offset 0
const at = (offset: number) => [0x00, ...uleb(offset)]; // memarg: align 2^0, this offset

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
// position i), 6 limit, 7 mask, 8 len - 1, 9 k, 10 pos (i32); 11 first, 12 last,
// 13 LINE_END_TABLE, 14 m0, 15 m1 (v128).
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
    GET, 5, GET, 8, ADD, SIMD, V_LOAD, ...at(off), GET, 12, SIMD, EQ8,
    SIMD, V_AND,
    GET, 13, GET, 5, GET, 8, ADD, SIMD, V_LOAD, ...at(off + 1), SIMD, SWIZZLE,
    SIMD, V_AND,
  ];
}

/**
 * The body of `findLine(hay, hayLen, ndl, len, from) -> i32`: the first
 * position whose needle is followed by `\n` or `\r`, 32 positions per step
 * (two blocks whose candidates are combined before any branch).
 */
// deno-fmt-ignore
function findLineBody(): number[] {
  return [
    2, 6, I32, 5, V128, // locals
    GET, 2, LOAD8U, ...MEM0, SIMD, SPLAT, SET, 11,
    GET, 2, GET, 3, ADD, CONST, 1, SUB, LOAD8U, ...MEM0, SIMD, SPLAT, SET, 12,
    SIMD, V_CONST, ...LINE_END_TABLE, SET, 13,
    GET, 3, CONST, 1, SUB, SET, 8,
    // limit = hay + hayLen - len - 32 (last p whose loads stay inside); p = hay + from
    GET, 0, GET, 1, ADD, GET, 3, SUB, CONST, 32, SUB, SET, 6,
    GET, 0, GET, 4, ADD, SET, 5,
    BLOCK, VOID, // $done
    LOOP, VOID, // $outer
    GET, 5, GET, 6, GT_S, BR_IF, 1,
    ...lineCandidates(0), SET, 14,
    ...lineCandidates(16), SET, 15,
    GET, 14, GET, 15, SIMD, V_OR, SIMD, ANY_TRUE,
    IF, VOID,
    GET, 14, SIMD, BITMASK, GET, 15, SIMD, BITMASK, CONST, 16, SHL, OR, SET, 7,
    ...tryCandidates([GET, 5, GET, 0, SUB]), // i = p - hay
    END, // if
    GET, 5, CONST, 32, ADD, SET, 5, // p += 32
    BR, 0,
    END, // $outer
    END, // $done
    // not found up to i = p - hay: return -(i + 1) so the caller finishes the tail
    GET, 0, GET, 5, SUB, CONST, 1, SUB,
    END,
  ];
}

// Locals of newlines: 0 hay, 1 hayLen, 2 out (params); 3 i, 4 mask, 5 count, 6 limit (i32);
// 7 the "\n" splat (v128).
/**
 * The body of `newlines(hay, hayLen, out) -> count`: writes the offset (from
 * `hay`) of every `\n` in `hay[0, hayLen)` to `out` as i32s, in order, 16
 * bytes per step, and returns how many it wrote. `out` needs room for
 * `hayLen` of them.
 */
// deno-fmt-ignore
function newlinesBody(): number[] {
  const store = [
    GET, 2, GET, 5, CONST, 2, SHL, ADD, // out + 4 * count
    GET, 3, GET, 4, CTZ, ADD, // i + ctz(mask)
    STORE, 0x02, 0x00, // i32.store align 4
    GET, 5, CONST, 1, ADD, SET, 5, // count++
  ];
  return [
    2, 4, I32, 1, V128, // locals
    CONST, LF_BYTE, SIMD, SPLAT, SET, 7,
    GET, 1, CONST, 16, SUB, SET, 6, // limit = hayLen - 16
    BLOCK, VOID, // $done
    LOOP, VOID, // $outer
    GET, 3, GET, 6, GT_S, BR_IF, 1,
    GET, 0, GET, 3, ADD, SIMD, V_LOAD, ...MEM0, GET, 7, SIMD, EQ8, SIMD, BITMASK, SET, 4,
    BLOCK, VOID, LOOP, VOID, // $bits
    GET, 4, EQZ, BR_IF, 1,
    ...store,
    GET, 4, GET, 4, CONST, 1, SUB, AND, SET, 4, // mask &= mask - 1
    BR, 0,
    END, END,
    GET, 3, CONST, 16, ADD, SET, 3, // i += 16
    BR, 0,
    END, // $outer
    END, // $done
    // the last bytes, one at a time (mask = 1: ctz 0, so the store writes i)
    CONST, 1, SET, 4,
    BLOCK, VOID, LOOP, VOID,
    GET, 3, GET, 1, GE_S, BR_IF, 1,
    GET, 0, GET, 3, ADD, LOAD8U, ...MEM0, CONST, LF_BYTE, EQ,
    IF, VOID, ...store, END,
    GET, 3, CONST, 1, ADD, SET, 3,
    BR, 0,
    END, END,
    GET, 5,
    END,
  ];
}

// deno-fmt-ignore
function moduleBytes(): Uint8Array {
  const body = findBody();
  const lineBody = findLineBody();
  const nlBody = newlinesBody();
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // "\0asm", version 1
    // types: (i32 x5) -> i32, (i32 x3) -> i32
    ...section(1, [2, 0x60, 5, I32, I32, I32, I32, I32, 1, I32, 0x60, 3, I32, I32, I32, 1, I32]),
    ...section(3, [3, 0, 0, 1]), // find and findLine of the first, newlines of the second
    ...section(5, [1, 0x00, 1]), // memory: 1 page, growable
    ...section(7, [
      4, ...name("find"), 0x00, 0, ...name("findLine"), 0x00, 1, ...name("newlines"), 0x00, 2,
      ...name("mem"), 0x02, 0,
    ]), // exports
    ...section(10, [
      3, ...uleb(body.length), ...body, ...uleb(lineBody.length), ...lineBody,
      ...uleb(nlBody.length), ...nlBody,
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
  readonly #newlines: (hay: number, hayLen: number, out: number) => number;
  #view: Uint8Array;

  private constructor(instance: WebAssembly.Instance) {
    this.#mem = instance.exports.mem as WebAssembly.Memory;
    this.#find = instance.exports.find as FindFn;
    this.#findLine = instance.exports.findLine as FindFn;
    this.#newlines = instance.exports.newlines as (hay: number, len: number, out: number) => number;
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
   * A `NewlineFinder`: the offsets (from the start of `haystack`) of every
   * `\n` in `haystack[from, to)`, in order, at most
   * {@linkcode NEWLINE_WINDOW} bytes per call. The view is overwritten by
   * the next call. SIMD when `haystack` lies in this searcher's memory.
   */
  readonly newlines = (haystack: Uint8Array, from: number, to: number): Int32Array => {
    if (to - from > NEWLINE_WINDOW || from < 0 || to > haystack.length) {
      throw new RangeError(
        `Invalid newline window: [${from}, ${to}) of ${haystack.length} bytes, at most ${NEWLINE_WINDOW}`,
      );
    }
    if (haystack.buffer !== this.#mem.buffer) return newlinesOf(haystack, from, to);
    const base = haystack.byteOffset + from;
    const n = this.#newlines(base, to - from, NEEDLE_MAX);
    const out = new Int32Array(this.#mem.buffer, NEEDLE_MAX, n);
    if (from !== 0) { for (let k = 0; k < n; k++) out[k]! += from; }
    return out;
  };

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
