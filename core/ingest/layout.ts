/**
 * Storage layouts: how one received JSON object becomes Redis commands.
 *
 * - `kv` (compatible with the daemon sockkit replaces): for each top-level key
 *   `k`, a string is `SET k value`; a number, boolean, null or array is
 *   `SET k <JSON text>`; an object is `HSET k field value ...` merging into
 *   the hash (string field values as they are, others as JSON text). An empty
 *   object writes nothing.
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

function text(v: unknown): string {
  const t = typeof v;
  if (t === "string") return v as string;
  if (t === "number" || t === "boolean" || v === null) return String(v);
  return JSON.stringify(v);
}

/**
 * The `kv` layout commands for one parsed object.
 *
 * @example
 * ```ts
 * kvCommands({ a: "x", u: { n: 1 } }, ""); // [["SET","a","x"],["HSET","u","n","1"]]
 * ```
 */
export function kvCommands(obj: Record<string, unknown>, prefix: string): Command[] {
  const out: Command[] = [];
  for (const k in obj) {
    const v = obj[k];
    if (v !== null && typeof v === "object" && !Array.isArray(v)) {
      const cmd: Command = ["HSET", prefix + k];
      const h = v as Record<string, unknown>;
      for (const f in h) cmd.push(f, text(h[f]));
      if (cmd.length > 2) out.push(cmd);
    } else out.push(["SET", prefix + k, text(v)]);
  }
  return out;
}

const MULTI = commandBytes(["MULTI"]);
const EXEC = commandBytes(["EXEC"]);
const SET = new TextEncoder().encode("$3\r\nSET\r\n");
const HSET = new TextEncoder().encode("$4\r\nHSET\r\n");

function isHash(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

function hasField(h: Record<string, unknown>): boolean {
  for (const _ in h) return true;
  return false;
}

/**
 * Encodes {@linkcode kvCommands} straight into `out` as RESP and returns the
 * command count. With `wrap`, an object with several commands is wrapped in
 * `MULTI`/`EXEC` so its writes are applied together. With `ascii` (the
 * object's JSON text is ASCII without `\u` escapes) every string is ASCII.
 */
export function encodeKv(
  obj: Record<string, unknown>,
  prefix: string,
  ascii: boolean,
  wrap: boolean,
  out: RespBuffer,
): number {
  let n = 0;
  for (const k in obj) {
    const v = obj[k];
    if (!isHash(v) || hasField(v)) n++;
  }
  if (n === 0) return 0;
  if (wrap && n > 1) out.raw(MULTI);
  for (const k in obj) {
    const v = obj[k];
    if (isHash(v)) {
      let fields = 0;
      for (const _ in v) fields++;
      if (fields === 0) continue;
      out.header(42, 2 + 2 * fields);
      out.raw(HSET);
      out.bulk(prefix + k, ascii);
      for (const f in v) {
        out.bulk(f, ascii);
        out.bulk(text(v[f]), ascii);
      }
    } else {
      out.header(42, 3);
      out.raw(SET);
      out.bulk(prefix + k, ascii);
      out.bulk(text(v), ascii);
    }
  }
  if (wrap && n > 1) out.raw(EXEC);
  return n;
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
