/**
 * The layouts' encoders: one object's `kv` members (see `_kv_members.ts`) or
 * its `stream` entry as RESP commands written straight into a batch buffer,
 * and readable forms of the same commands for tests.
 */
import { commandBytes, type RespBuffer } from "./_resp_buffer.ts";
import type { Command } from "./_resp.ts";
import { type Members, splitMembers } from "./_kv_members.ts";

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

/** Options for {@linkcode streamCommand} and {@linkcode encodeStream}: one connection's entries. */
export interface StreamEntryOptions {
  /** The stream key (prefix included). */
  key: string;
  /** The `client` field: the peer's identity. */
  client: string;
  /** `MAXLEN ~ N` trimming. Default: none. */
  maxlen?: number;
}

/** The `XADD` command for one object (its JSON text as sent) in the `stream` layout. */
export function streamCommand(json: string, options: StreamEntryOptions): Command {
  const { key, client, maxlen } = options;
  return maxlen === undefined
    ? ["XADD", key, "*", "client", client, "data", json]
    : ["XADD", key, "MAXLEN", "~", String(maxlen), "*", "client", client, "data", json];
}

/** Encodes {@linkcode streamCommand} into `out`; returns 1 (one command). */
export function encodeStream(json: string, out: RespBuffer, options: StreamEntryOptions): number {
  out.command(streamCommand(json, options));
  return 1;
}
