/**
 * The `kv` layout's object splitter: one JSON object's bytes to its top-level
 * members and their hash fields, each value kept as the JSON text that was
 * sent. A byte scanner, no `JSON.parse` of the whole object.
 */

/**
 * A key, field or string value of a `kv` object escapes a lone surrogate
 * (`"\ud800"`): well-formed JSON that cannot be stored as it was sent.
 */
export class LoneSurrogateError extends Error {
  constructor(readonly string: string) {
    super(
      `a key, field or string value holds a lone surrogate escape (${
        string.length > 40 ? string.slice(0, 40) + "..." : string
      }), which UTF-8 cannot store: Redis would get U+FFFD in its place (send the pair, or text)`,
    );
    this.name = "LoneSurrogateError";
  }
}

/** A hash value: its fields in input order, each with the text to store. */
export interface Hash {
  fields: string[];
  values: string[];
}

/**
 * An object's top-level members in input order: `values[i]` is what `keys[i]`
 * stores, the text for `SET` (a string's value, any other value's JSON text
 * as sent) or a {@linkcode Hash} for `HSET`. A key given twice keeps its last
 * value, as `JSON.parse` does.
 */
export interface Members {
  keys: string[];
  values: (string | Hash)[];
}

function isSpace(c: number): boolean {
  return c === 32 || c === 10 || c === 13 || c === 9;
}

function isDigit(c: number | undefined): boolean {
  return c !== undefined && c >= 48 && c <= 57;
}

/** Index just past the string starting at `i` (a `"`), or -1 if it does not end. */
function stringEnd(s: Uint8Array, i: number): number {
  const n = s.length;
  for (let j = i + 1; j < n; j++) {
    const c = s[j]!;
    if (c === 92) j++;
    else if (c === 34) return j + 1;
  }
  return -1;
}

/** Index just past the array or object starting at `i`, or -1. Its content is checked by `JSON.parse`. */
function containerEnd(s: Uint8Array, i: number): number {
  const n = s.length;
  let depth = 0;
  while (i < n) {
    const d = s[i]!;
    if (d === 34) {
      i = stringEnd(s, i);
      if (i < 0) return -1;
      continue;
    }
    if (d === 123 || d === 91) depth++;
    else if ((d === 125 || d === 93) && --depth === 0) return i + 1;
    i++;
  }
  return -1;
}

/** Index just past the JSON number starting at `i` (RFC 8259 grammar), or -1. */
function numberEnd(s: Uint8Array, i: number): number {
  if (s[i] === 45) i++;
  if (s[i] === 48) i++;
  else if (isDigit(s[i])) { while (isDigit(s[i])) i++; }
  else return -1;
  if (s[i] === 46) {
    i++;
    if (!isDigit(s[i])) return -1;
    while (isDigit(s[i])) i++;
  }
  if (s[i] === 101 || s[i] === 69) {
    i++;
    if (s[i] === 43 || s[i] === 45) i++;
    if (!isDigit(s[i])) return -1;
    while (isDigit(s[i])) i++;
  }
  return i;
}

/** Index just past `word` (ASCII) at `i`, or -1. */
function wordEnd(s: Uint8Array, i: number, word: string): number {
  for (let j = 0; j < word.length; j++) if (s[i + j] !== word.charCodeAt(j)) return -1;
  return i + word.length;
}

/** @internal Index just past the number or `true`/`false`/`null` starting at `i`, or -1. */
export function scalarEnd(s: Uint8Array, i: number): number {
  const c = s[i];
  return c === 116
    ? wordEnd(s, i, "true")
    : c === 102
    ? wordEnd(s, i, "false")
    : c === 110
    ? wordEnd(s, i, "null")
    : numberEnd(s, i);
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * A cursor over one object's JSON bytes. `text` is the same JSON as a string;
 * when `ascii`, its indexes are the byte indexes, so values are substrings of
 * it (no decoding); otherwise each value's bytes are decoded.
 */
class Scanner {
  pos = 0;
  constructor(readonly bytes: Uint8Array, readonly text: string, readonly ascii: boolean) {}

  slice(a: number, b: number): string {
    return this.ascii ? this.text.substring(a, b) : utf8.decode(this.bytes.subarray(a, b));
  }

  skipSpace(): void {
    const s = this.bytes;
    while (this.pos < s.length && isSpace(s[this.pos]!)) this.pos++;
  }

  /** The string at `pos` (a `"`), unescaped; `undefined` when malformed. */
  string(): string | undefined {
    const s = this.bytes;
    const start = this.pos + 1;
    let escaped = false;
    let j = start;
    for (; j < s.length; j++) {
      const c = s[j]!;
      if (c === 34) break;
      if (c < 32) return undefined;
      if (c === 92) {
        escaped = true;
        j++;
      }
    }
    if (j >= s.length) return undefined;
    this.pos = j + 1;
    if (!escaped) return this.slice(start, j);
    let value: string;
    try {
      value = JSON.parse(this.slice(start - 1, j + 1));
    } catch {
      return undefined;
    }
    // UTF-8 has no form for a lone surrogate: encoded, it becomes U+FFFD, and
    // "k\ud800" and "k\udbff" would name one Redis key.
    if (!value.isWellFormed()) throw new LoneSurrogateError(this.slice(start - 1, j + 1));
    return value;
  }

  /** The value at `pos` as the text to store: a string's value, else its JSON text as sent. */
  stored(): string | undefined {
    const s = this.bytes;
    const i = this.pos;
    const c = s[i];
    if (c === 34) return this.string();
    let end: number;
    if (c === 123 || c === 91) {
      end = containerEnd(s, i);
      if (end < 0) return undefined;
      const raw = this.slice(i, end);
      try {
        JSON.parse(raw);
      } catch {
        return undefined;
      }
      this.pos = end;
      return raw;
    }
    end = scalarEnd(s, i);
    if (end < 0) return undefined;
    this.pos = end;
    return this.slice(i, end);
  }

  /**
   * Reads `{ "key": value, ... }` at `pos`, calling `member` after each
   * `"key":` with the cursor on the value (it must advance past it, or
   * return false). False when malformed.
   */
  object(member: (key: string) => boolean): boolean {
    const s = this.bytes;
    this.pos++;
    this.skipSpace();
    if (s[this.pos] === 125) {
      this.pos++;
      return true;
    }
    while (true) {
      if (s[this.pos] !== 34) return false;
      const key = this.string();
      if (key === undefined) return false;
      this.skipSpace();
      if (s[this.pos] !== 58) return false;
      this.pos++;
      this.skipSpace();
      if (!member(key)) return false;
      this.skipSpace();
      const d = s[this.pos];
      this.pos++;
      if (d === 125) return true;
      if (d !== 44) return false;
      this.skipSpace();
    }
  }
}

/**
 * Splits one JSON object's text into its {@linkcode Members}: one pass over
 * the bytes, each value kept as the text that was sent (a string unescaped),
 * each object value split into its hash fields the same way. Returns
 * `undefined` for anything that is not a well-formed JSON object (the caller
 * then asks `JSON.parse` for the error); throws {@linkcode LoneSurrogateError}
 * for a string that escapes a lone surrogate. `bytes` are the text's UTF-8 bytes;
 * `ascii` says they are one per character (then values are substrings of
 * `text`, no decoding).
 *
 * Why not `JSON.parse` and re-serialize: it changes numbers (`1.0` becomes
 * `1`, `2**64` loses digits), and it turns every top-level key into an
 * internalized string with its own hidden class; with a new key per object
 * (the usual `{"<id>":{...}}`) that measured ≈ 2.2 µs per object.
 */
export function splitMembers(
  text: string,
  bytes: Uint8Array,
  ascii = text.length === bytes.length,
): Members | undefined {
  const n = bytes.length;
  if (bytes[0] !== 123) return undefined;
  const sc = new Scanner(bytes, text, ascii);
  const keys: string[] = [];
  const values: (string | Hash)[] = [];
  // past LINEAR_KEYS, key → its index: a wide object costs time in proportion to its size,
  // where indexOf and splice for each key made a 1 MiB object of 129,000 keys take 95 s
  let index: Map<string, number> | undefined;
  let dropped = 0;
  const ok = sc.object((key) => {
    let v: string | Hash | undefined;
    if (bytes[sc.pos] === 123) {
      const fields: string[] = [];
      const fieldValues: string[] = [];
      const fine = sc.object((f) => {
        const fv = sc.stored();
        if (fv === undefined) return false;
        fields.push(f);
        fieldValues.push(fv);
        return true;
      });
      if (!fine) return false;
      v = { fields, values: fieldValues };
    } else {
      v = sc.stored();
      if (v === undefined) return false;
    }
    if (!index && keys.length >= LINEAR_KEYS) {
      // a key's last occurrence is its live one: set in order, the map keeps it
      index = new Map();
      keys.forEach((k, i) => index!.set(k, i));
    }
    const seen = index ? index.get(key) ?? -1 : keys.lastIndexOf(key);
    if (seen >= 0) {
      values[seen] = DROPPED;
      dropped++;
    }
    index?.set(key, keys.length);
    keys.push(key);
    values.push(v);
    return true;
  });
  if (!ok) return undefined;
  sc.skipSpace();
  if (sc.pos !== n) return undefined;
  if (dropped === 0) return { keys, values };
  // a key given again keeps its last value, in the place of its last occurrence
  const kept: Members = { keys: [], values: [] };
  values.forEach((v, i) => {
    if (v === DROPPED) return;
    kept.keys.push(keys[i]!);
    kept.values.push(v);
  });
  return kept;
}

/** Up to this many keys, a repeated one is found by comparing with each earlier one. */
const LINEAR_KEYS = 16;
/** The value of a key given again later (compared by identity). */
const DROPPED: Hash = { fields: [], values: [] };
