/**
 * Storage layouts: how one received JSON object becomes Redis commands.
 *
 * - `kv` (compatible with the daemon sockkit replaces): for each top-level key
 *   `k`, a string is `SET k value`; a number, boolean, null or array is
 *   `SET k <its JSON text>`; an object is `HSET k field value ...` merging into
 *   the hash (string field values as they are, others as their JSON text).
 *   The JSON text is the one sent, byte for byte (`1.0`, `1e+20`, `-0.0` and
 *   `18446744073709551616` stay as they are: the replaced daemon stored
 *   Python's `str()` of each value). An empty object writes nothing.
 * - `stream`: the whole object is one `XADD` entry on one stream key with
 *   fields `client` (the peer identity) and `data` (the JSON text as sent),
 *   optionally trimmed with `MAXLEN ~ N`.
 *
 * The encoders write RESP directly (no intermediate arrays): at 200k objects/s
 * every allocation per object shows up in the profile.
 */
import { commandBytes, type RespBuffer } from "./resp_buffer.ts";

/** The storage layout names. */
export const LAYOUTS = ["kv", "stream"] as const;
/** A storage layout. */
export type Layout = typeof LAYOUTS[number];

/** One Redis command as its arguments (`["HSET", "k", "f", "v"]`). */
export type Command = string[];

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

const MULTI = commandBytes(["MULTI"]);
const EXEC = commandBytes(["EXEC"]);
const SET = new TextEncoder().encode("$3\r\nSET\r\n");
const HSET = new TextEncoder().encode("$4\r\nHSET\r\n");

/** Options for {@linkcode encodeKvMembers}. */
export interface KvMembersOptions {
  /** Prefix of every key. Default `""`. */
  prefix?: string;
  /**
   * The object's JSON text (and the prefix) is ASCII without `\u` escapes, so
   * every string is ASCII. Default `false`.
   */
  ascii?: boolean;
  /**
   * Wrap an object with several commands in `MULTI`/`EXEC` so its writes are
   * applied together. Default `false`.
   */
  wrap?: boolean;
}

/**
 * Encodes the `kv` layout commands of one object (see {@linkcode splitMembers})
 * straight into `out` as RESP and returns the command count.
 *
 * @example
 * ```ts
 * const n = encodeKvMembers(splitMembers(text, bytes)!, out, { prefix: "p:", wrap: true });
 * ```
 */
export function encodeKvMembers(
  members: Members,
  out: RespBuffer,
  options: KvMembersOptions = {},
): number {
  const prefix = options.prefix ?? "";
  const ascii = options.ascii ?? false;
  const wrap = options.wrap ?? false;
  const { keys, values } = members;
  let n = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (typeof v === "string" || v.fields.length > 0) n++;
  }
  if (n === 0) return 0;
  if (wrap && n > 1) out.raw(MULTI);
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    const v = values[i]!;
    if (typeof v === "string") {
      out.header(42, 3);
      out.raw(SET);
      out.bulk(prefix + k, ascii);
      out.bulk(v, ascii);
      continue;
    }
    const fields = v.fields.length;
    if (fields === 0) continue;
    out.header(42, 2 + 2 * fields);
    out.raw(HSET);
    out.bulk(prefix + k, ascii);
    for (let f = 0; f < fields; f++) {
      out.bulk(v.fields[f]!, ascii);
      out.bulk(v.values[f]!, ascii);
    }
  }
  if (wrap && n > 1) out.raw(EXEC);
  return n;
}

/**
 * The `kv` layout commands for one object's JSON text, or `undefined` when it
 * is not a well-formed JSON object (a readable form of
 * {@linkcode encodeKvMembers}, for tests and tools).
 *
 * @example
 * ```ts
 * kvCommands('{"a":"x","u":{"n":1.0}}', ""); // [["SET","a","x"],["HSET","u","n","1.0"]]
 * ```
 */
export function kvCommands(text: string, prefix: string): Command[] | undefined {
  const m = splitMembers(text, new TextEncoder().encode(text));
  if (m === undefined) return undefined;
  const out: Command[] = [];
  for (const [i, k] of m.keys.entries()) {
    const v = m.values[i]!;
    if (typeof v === "string") out.push(["SET", prefix + k, v]);
    else if (v.fields.length > 0) {
      out.push(["HSET", prefix + k, ...v.fields.flatMap((f, j) => [f, v.values[j]!])]);
    }
  }
  return out;
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
    try {
      return JSON.parse(this.slice(start - 1, j + 1));
    } catch {
      return undefined;
    }
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
 * then asks `JSON.parse` for the error). `bytes` are the text's UTF-8 bytes;
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
    const seen = keys.indexOf(key);
    if (seen >= 0) {
      keys.splice(seen, 1);
      values.splice(seen, 1);
    }
    keys.push(key);
    values.push(v);
    return true;
  });
  if (!ok) return undefined;
  sc.skipSpace();
  return sc.pos === n ? { keys, values } : undefined;
}

/** The `XADD` command for one object in the `stream` layout. */
export function streamCommand(
  json: string,
  client: string,
  key: string,
  maxlen: number | undefined,
): Command {
  return maxlen === undefined
    ? ["XADD", key, "*", "client", client, "data", json]
    : ["XADD", key, "MAXLEN", "~", String(maxlen), "*", "client", client, "data", json];
}

/** Encodes {@linkcode streamCommand} into `out`; returns 1 (one command). */
export function encodeStream(
  json: string,
  client: string,
  key: string,
  maxlen: number | undefined,
  out: RespBuffer,
): number {
  out.command(streamCommand(json, client, key, maxlen));
  return 1;
}
