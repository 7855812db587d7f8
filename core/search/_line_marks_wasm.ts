/**
 * The WebAssembly line filter of `LineBatch` (`lineMarks`): finds the line
 * ends of a piece 16 bytes per step and reports only the lines whose bucket
 * (`lineKey` in `line_batch.ts`) is marked. Assembled into the module of
 * `simd_search.ts`, whose memory holds the piece, the marks and the output.
 */
import { KEY_MUL } from "./line_batch.ts";
import {
  ADD,
  AND,
  at,
  BITMASK,
  BLOCK,
  BR,
  BR_IF,
  CONST,
  CR_BYTE,
  CTZ,
  END,
  EQ,
  EQ8,
  EQZ,
  GE_S,
  GET,
  GT_S,
  I32,
  IF,
  LF_BYTE,
  LOAD8U,
  LOOP,
  LT_U,
  MEM0,
  MUL,
  RETURN,
  SET,
  SHL,
  SHR_U,
  SIMD,
  sleb,
  SPLAT,
  STORE,
  SUB,
  uleb,
  V128,
  V_LOAD,
  VOID,
  XOR,
} from "./_wasm.ts";

// Locals of lineMarks: 0 hay, 1 hayLen, 2 out, 3 cap, 4 maxLen (params); 5 i, 6 mask,
// 7 count, 8 limit, 9 s (line start), 10 e (its "\n"), 11 len, 12 L, 13 key (i32);
// 14 the "\n" splat (v128).
/**
 * Appends (s, L) to `out` when the line bytes `hay[s, s + L)` fall in a
 * marked bucket (`lineKey` in `line_batch.ts`); stops the call (saving `s` at
 * `resumeAt`) when `out` is full.
 */
// deno-fmt-ignore
function markedCheck({ resumeAt, marksAt }: { resumeAt: number; marksAt: number }): number[] {
  const byteAt = (offset: number[]) => [GET, 0, GET, 9, ADD, ...offset, LOAD8U, ...MEM0];
  return [
    GET, 12,
    ...byteAt([]), CONST, 11, SHL, XOR,
    ...byteAt([GET, 12, CONST, 1, SHR_U, ADD]), CONST, 19, SHL, XOR,
    ...byteAt([GET, 12, ADD, CONST, 1, SUB]), CONST, 24, SHL, XOR,
    CONST, ...sleb(KEY_MUL), MUL, CONST, 16, SHR_U, SET, 13,
    GET, 13, LOAD8U, ...at(marksAt), IF, VOID,
    GET, 7, CONST, 2, ADD, GET, 3, GT_S, IF, VOID, // out is full
    CONST, 0, GET, 9, STORE, 0x02, ...uleb(resumeAt), GET, 7, RETURN,
    END,
    GET, 2, GET, 7, CONST, 2, SHL, ADD, GET, 9, STORE, 0x02, 0x00,
    GET, 2, GET, 7, CONST, 2, SHL, ADD, GET, 12, STORE, 0x02, 0x04,
    GET, 7, CONST, 2, ADD, SET, 7,
    END,
  ];
}

/**
 * The line that ends at the `\n` at `e` (local 10): checked as it is and,
 * when it ends in `\r`, without it (lengths 1 to maxLen only); then `s`
 * moves past the `\n`.
 */
// deno-fmt-ignore
function onLineEnd(layout: { resumeAt: number; marksAt: number }): number[] {
  const check = markedCheck(layout);
  return [
    GET, 10, GET, 9, SUB, SET, 11, // len = e - s
    GET, 11, CONST, 1, SUB, GET, 4, LT_U, IF, VOID, GET, 11, SET, 12, ...check, END,
    GET, 11, CONST, 2, GE_S, IF, VOID,
    GET, 0, GET, 10, ADD, CONST, 1, SUB, LOAD8U, ...MEM0, CONST, CR_BYTE, EQ, IF, VOID,
    GET, 11, CONST, 2, SUB, GET, 4, LT_U, IF, VOID, GET, 11, CONST, 1, SUB, SET, 12, ...check, END,
    END,
    END,
    GET, 10, CONST, 1, ADD, SET, 9, // s = e + 1
  ];
}

/**
 * The body of `lineMarks(hay, hayLen, out, cap, maxLen) -> count`: for
 * every line of `hay[0, hayLen)` that ends in a `\n` (the first starts at
 * `hay`), writes (start, length) pairs of the candidates
 * ({@linkcode markedCheck}) to `out`, at most `cap` i32s, and the start of
 * the first line not looked at to `resumeAt`; returns the i32s
 * written. The `\n`s are found 16 bytes per step.
 */
// deno-fmt-ignore
export function lineMarksBody(layout: { resumeAt: number; marksAt: number }): number[] {
  const line = onLineEnd(layout);
  return [
    2, 9, I32, 1, V128, // locals
    CONST, LF_BYTE, SIMD, SPLAT, SET, 14,
    GET, 1, CONST, 16, SUB, SET, 8, // limit = hayLen - 16
    BLOCK, VOID, // $done
    LOOP, VOID, // $outer
    GET, 5, GET, 8, GT_S, BR_IF, 1,
    GET, 0, GET, 5, ADD, SIMD, V_LOAD, ...MEM0, GET, 14, SIMD, EQ8, SIMD, BITMASK, SET, 6,
    BLOCK, VOID, LOOP, VOID, // $bits
    GET, 6, EQZ, BR_IF, 1,
    GET, 5, GET, 6, CTZ, ADD, SET, 10, // e = i + ctz(mask)
    ...line,
    GET, 6, GET, 6, CONST, 1, SUB, AND, SET, 6, // mask &= mask - 1
    BR, 0,
    END, END,
    GET, 5, CONST, 16, ADD, SET, 5, // i += 16
    BR, 0,
    END, // $outer
    END, // $done
    BLOCK, VOID, LOOP, VOID, // the last bytes, one at a time
    GET, 5, GET, 1, GE_S, BR_IF, 1,
    GET, 0, GET, 5, ADD, LOAD8U, ...MEM0, CONST, LF_BYTE, EQ,
    IF, VOID, GET, 5, SET, 10, ...line, END,
    GET, 5, CONST, 1, ADD, SET, 5,
    BR, 0,
    END, END,
    CONST, 0, GET, 9, STORE, 0x02, ...uleb(layout.resumeAt),
    GET, 7,
    END,
  ];
}
