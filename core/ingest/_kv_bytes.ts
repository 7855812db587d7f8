/**
 * The `kv` layout's fast path: one JSON object's bytes straight to RESP, no
 * strings in between. Keys, hash fields and values are byte ranges of the
 * input copied into the batch buffer, which is what the general path
 * (`splitMembers` then `encodeKvMembers`) produces for plain ASCII objects:
 * there every key and value became a string and was encoded back to bytes
 * (≈ 60% of the main thread at 200k objects/s).
 *
 * It handles the common case only: every byte ASCII, no escape in a key, a
 * field or a string value (escapes inside array or object values are fine,
 * their text is stored as sent), containers nested at most 64 deep. For
 * anything else, including malformed JSON, it writes nothing and returns
 * {@linkcode NOT_FAST}; the caller takes the general path, which gives the
 * same commands or names the error.
 */
import { scalarEnd } from "./_kv_members.ts";
import type { RespBuffer } from "./_resp_buffer.ts";

/** {@linkcode encodeKvBytes} did not apply: nothing was written, take the general path. */
export const NOT_FAST = -1;

const MAX_DEPTH = 64;
const DEAD = 0;
const SCALAR = 1;
const HASH = 2;

const MULTI = new TextEncoder().encode("*1\r\n$5\r\nMULTI\r\n");
const EXEC = new TextEncoder().encode("*1\r\n$4\r\nEXEC\r\n");
const SET = new TextEncoder().encode("*3\r\n$3\r\nSET\r\n");
const HSET = new TextEncoder().encode("$4\r\nHSET\r\n");

/**
 * The members found by the scan, reused from object to object:
 * `[type, keyStart, keyEnd, (SCALAR) valueStart, valueEnd | (HASH) fields, (fieldStart, fieldEnd, valueStart, valueEnd) * fields]`.
 */
let rec = new Int32Array(1024);
let members = new Int32Array(64);
const stack = new Uint8Array(MAX_DEPTH);

function grow(need: number): void {
  if (need <= rec.length) return;
  const next = new Int32Array(Math.max(need, rec.length * 2));
  next.set(rec);
  rec = next;
}

function ws(s: Uint8Array, i: number): number {
  while (i < s.length) {
    const c = s[i]!;
    if (c === 32 || c === 10 || c === 13 || c === 9) i++;
    else break;
  }
  return i;
}

/** Index past the string at `i` (a quote) with no escape, control or non-ASCII byte; else -1. */
function plainStringEnd(s: Uint8Array, i: number): number {
  for (let j = i + 1; j < s.length; j++) {
    const c = s[j]!;
    if (c === 34) return j + 1;
    if (c < 32 || c >= 128 || c === 92) return -1;
  }
  return -1;
}

function isHex(c: number | undefined): boolean {
  return c !== undefined &&
    ((c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102));
}

/** Index past the ASCII string at `i` (a quote), escapes checked as JSON.parse does; else -1. */
function stringEnd(s: Uint8Array, i: number): number {
  for (let j = i + 1; j < s.length; j++) {
    const c = s[j]!;
    if (c === 34) return j + 1;
    if (c < 32 || c >= 128) return -1;
    if (c !== 92) continue;
    const e = s[++j];
    if (e === 117) {
      if (!isHex(s[j + 1]) || !isHex(s[j + 2]) || !isHex(s[j + 3]) || !isHex(s[j + 4])) {
        return -1;
      }
      j += 4;
    } else if (
      e !== 34 && e !== 92 && e !== 47 && e !== 98 && e !== 102 && e !== 110 && e !== 114 &&
      e !== 116
    ) return -1;
  }
  return -1;
}

/** After `"key"` ends at `i`: the index of its value (past the colon), else -1. */
function afterColon(s: Uint8Array, i: number): number {
  i = ws(s, i);
  return s[i] === 58 ? ws(s, i + 1) : -1;
}

/** Index past the JSON value at `i`, validated as JSON.parse would (ASCII only), else -1. */
function valueEnd(s: Uint8Array, i: number): number {
  let depth = 0;
  let p = i;
  while (true) {
    // `p` is at a value.
    const c = s[p];
    if (c === 123 || c === 91) {
      if (depth === MAX_DEPTH) return -1;
      stack[depth++] = c;
      p = ws(s, p + 1);
      if (s[p] === c + 2) { // `}` is `{` + 2, `]` is `[` + 2
        p++;
        depth--;
      } else {
        if (c === 123) {
          if (s[p] !== 34 || (p = stringEnd(s, p)) < 0 || (p = afterColon(s, p)) < 0) return -1;
        }
        continue;
      }
    } else {
      p = c === 34 ? stringEnd(s, p) : scalarEnd(s, p);
      if (p < 0) return -1;
    }
    // After a value: close containers or go on to the next element.
    while (true) {
      if (depth === 0) return p;
      p = ws(s, p);
      const open = stack[depth - 1]!;
      const d = s[p];
      if (d === open + 2) {
        p++;
        depth--;
        continue;
      }
      if (d !== 44) return -1;
      p = ws(s, p + 1);
      if (open === 123) {
        if (s[p] !== 34 || (p = stringEnd(s, p)) < 0 || (p = afterColon(s, p)) < 0) return -1;
      }
      break;
    }
  }
}

/** Records the stored value at `p` (a string's inside, else its text); returns the index past it or -1. */
function storeValue(s: Uint8Array, p: number, at: number): number {
  if (s[p] === 34) {
    const e = plainStringEnd(s, p);
    if (e < 0) return -1;
    rec[at] = p + 1;
    rec[at + 1] = e - 1;
    return e;
  }
  const e = valueEnd(s, p);
  if (e < 0) return -1;
  rec[at] = p;
  rec[at + 1] = e;
  return e;
}

function sameBytes(s: Uint8Array, a: number, ae: number, b: number, be: number): boolean {
  if (ae - a !== be - b) return false;
  for (let i = 0; i < ae - a; i++) if (s[a + i] !== s[b + i]) return false;
  return true;
}

/** Up to this many members, a repeated key is found by comparing with each earlier one. */
const LINEAR_KEYS = 16;
/**
 * Past {@linkcode LINEAR_KEYS}, the members by key hash (open addressing;
 * member index + 1, 0 = empty), reused from object to object: a wide object
 * costs time in proportion to its size, where comparing each key with every
 * earlier one made a 1 MiB object of 130,000 keys hold the thread for 30 s.
 */
let table = new Int32Array(64);
let tableMask = 0;
let tableUsed = 0;

function keyHash(s: Uint8Array, a: number, e: number): number {
  let h = 0x811c9dc5;
  for (let i = a; i < e; i++) h = Math.imul(h ^ s[i]!, 0x01000193);
  return h >>> 0;
}

/** Puts member `j` (alive, its key not in the table) into the table. */
function tablePut(s: Uint8Array, j: number): void {
  const o = members[j]!;
  let i = keyHash(s, rec[o + 1]!, rec[o + 2]!) & tableMask;
  while (table[i] !== 0) i = (i + 1) & tableMask;
  table[i] = j + 1;
  tableUsed++;
}

/** A table of at least twice `m` slots holding the alive members before `m`. */
function tableBuild(s: Uint8Array, m: number): void {
  let size = 64;
  while (size < m * 2) size *= 2;
  if (table.length < size) table = new Int32Array(size);
  else table.fill(0, 0, size);
  tableMask = size - 1;
  tableUsed = 0;
  for (let j = 0; j < m; j++) if (rec[members[j]!] !== DEAD) tablePut(s, j);
}

/**
 * Marks dead the earlier member with the key of member `m - 1` (the last
 * value of a key given again is kept, as `JSON.parse` does).
 */
function dropEarlier(s: Uint8Array, m: number): void {
  const last = members[m - 1]!;
  const ks = rec[last + 1]!;
  const ke = rec[last + 2]!;
  if (m <= LINEAR_KEYS) {
    for (let j = 0; j < m - 1; j++) {
      const o = members[j]!;
      if (rec[o] !== DEAD && sameBytes(s, rec[o + 1]!, rec[o + 2]!, ks, ke)) rec[o] = DEAD;
    }
    return;
  }
  if (m === LINEAR_KEYS + 1 || (tableUsed + 1) * 2 > tableMask + 1) tableBuild(s, m - 1);
  let i = keyHash(s, ks, ke) & tableMask;
  while (table[i] !== 0) {
    const o = members[table[i]! - 1]!;
    if (sameBytes(s, rec[o + 1]!, rec[o + 2]!, ks, ke)) {
      rec[o] = DEAD;
      table[i] = m;
      return;
    }
    i = (i + 1) & tableMask;
  }
  table[i] = m;
  tableUsed++;
}

/**
 * Scans the object in `s`; returns the member count (records in `rec`,
 * their starts in `members`), or -1 when the fast path does not apply.
 */
function scan(s: Uint8Array): number {
  if (s[0] !== 123) return -1;
  let m = 0;
  let rn = 0;
  let p = ws(s, 1);
  if (s[p] === 125) p++;
  else {
    while (true) {
      if (s[p] !== 34) return -1;
      const ks = p + 1;
      const ke = plainStringEnd(s, p);
      if (ke < 0 || (p = afterColon(s, ke)) < 0) return -1;
      grow(rn + 5);
      if (m === members.length) {
        const next = new Int32Array(m * 2);
        next.set(members);
        members = next;
      }
      const at = rn;
      members[m++] = at;
      rec[at + 1] = ks;
      rec[at + 2] = ke - 1;
      if (s[p] === 123) {
        rec[at] = HASH;
        rn = at + 4;
        let fields = 0;
        p = ws(s, p + 1);
        if (s[p] === 125) p++;
        else {
          while (true) {
            if (s[p] !== 34) return -1;
            const fe = plainStringEnd(s, p);
            if (fe < 0) return -1;
            grow(rn + 4);
            rec[rn] = p + 1;
            rec[rn + 1] = fe - 1;
            if ((p = afterColon(s, fe)) < 0 || (p = storeValue(s, p, rn + 2)) < 0) return -1;
            rn += 4;
            fields++;
            p = ws(s, p);
            const d = s[p++];
            if (d === 125) break;
            if (d !== 44) return -1;
            p = ws(s, p);
          }
        }
        rec[at + 3] = fields;
      } else {
        rec[at] = SCALAR;
        if ((p = storeValue(s, p, at + 3)) < 0) return -1;
        rn = at + 5;
      }
      dropEarlier(s, m);
      p = ws(s, p);
      const d = s[p++];
      if (d === 125) break;
      if (d !== 44) return -1;
      p = ws(s, p);
    }
  }
  return ws(s, p) === s.length ? m : -1;
}

/** Options for {@linkcode encodeKvBytes}. */
export interface KvBytesOptions {
  /** The key prefix's UTF-8 bytes. Default: none. */
  prefix?: Uint8Array;
  /** Wrap an object with several commands in `MULTI`/`EXEC`. Default `false`. */
  wrap?: boolean;
}

/**
 * Encodes the `kv` layout commands of the JSON object in `bytes` into `out`
 * and returns the command count, exactly as `encodeKvMembers(splitMembers(...))`
 * would. Returns {@linkcode NOT_FAST}, writing nothing, for input outside the
 * fast path (see the module doc).
 */
export function encodeKvBytes(
  bytes: Uint8Array,
  out: RespBuffer,
  options: KvBytesOptions = {},
): number {
  const prefix = options.prefix;
  const wrap = options.wrap ?? false;
  const m = scan(bytes);
  if (m < 0) return NOT_FAST;
  let n = 0;
  for (let j = 0; j < m; j++) {
    const o = members[j]!;
    if (rec[o] === SCALAR || (rec[o] === HASH && rec[o + 3]! > 0)) n++;
  }
  if (n === 0) return 0;
  if (wrap && n > 1) out.raw(MULTI);
  for (let j = 0; j < m; j++) {
    const o = members[j]!;
    const type = rec[o];
    if (type === SCALAR) {
      out.raw(SET);
      out.bulkRange(bytes, rec[o + 1]!, rec[o + 2]!, prefix);
      out.bulkRange(bytes, rec[o + 3]!, rec[o + 4]!);
    } else if (type === HASH) {
      const fields = rec[o + 3]!;
      if (fields === 0) continue;
      out.header(42, 2 + 2 * fields);
      out.raw(HSET);
      out.bulkRange(bytes, rec[o + 1]!, rec[o + 2]!, prefix);
      for (let f = 0, r = o + 4; f < fields; f++, r += 4) {
        out.bulkRange(bytes, rec[r]!, rec[r + 1]!);
        out.bulkRange(bytes, rec[r + 2]!, rec[r + 3]!);
      }
    }
  }
  if (wrap && n > 1) out.raw(EXEC);
  return n;
}
