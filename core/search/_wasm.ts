/**
 * The few pieces of the WebAssembly binary format that the search kernels
 * are assembled from (no build tool): LEB128 numbers, sections, names and
 * the opcodes they use.
 */
export function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

export function section(id: number, body: number[]): number[] {
  return [id, ...uleb(body.length), ...body];
}

export function name(s: string): number[] {
  const b = [...new TextEncoder().encode(s)];
  return [...uleb(b.length), ...b];
}

// Opcodes.
export const I32 = 0x7f, V128 = 0x7b, VOID = 0x40;
export const BLOCK = 0x02,
  LOOP = 0x03,
  IF = 0x04,
  END = 0x0b,
  BR = 0x0c,
  BR_IF = 0x0d,
  RETURN = 0x0f;
export const GET = 0x20, SET = 0x21, CONST = 0x41, LOAD8U = 0x2d, STORE = 0x36;
export const EQZ = 0x45, EQ = 0x46, NE = 0x47, LT_U = 0x49, GT_S = 0x4a, GE_S = 0x4e, CTZ = 0x68;
export const ADD = 0x6a, SUB = 0x6b, MUL = 0x6c, AND = 0x71;
export const SHL = 0x74, SHR_U = 0x76, OR = 0x72, XOR = 0x73;
export const SIMD = 0xfd, V_LOAD = 0x00, SPLAT = 0x0f, EQ8 = 0x23, V_AND = 0x4e, BITMASK = 0x64;
export const V_OR = 0x50, ANY_TRUE = 0x53, SWIZZLE = 0x0e, V_CONST = 0x0c;
/** `\n` and `\r` as i32.const immediates (signed LEB128 of 10 and 13). */
export const LF_BYTE = 0x0a, CR_BYTE = 0x0d;
export const MEM0 = [0x00, 0x00]; // memarg: align 2^0, offset 0
export const at = (offset: number) => [0x00, ...uleb(offset)]; // memarg: align 2^0, this offset

/** Signed LEB128 of a 32-bit integer (an `i32.const` immediate). */
export function sleb(n: number): number[] {
  const out: number[] = [];
  n |= 0;
  while (true) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}
