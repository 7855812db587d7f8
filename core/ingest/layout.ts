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
import { encodeCommand } from "./resp.ts";

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

/** One object's commands, RESP-encoded, and how many there are. */
export interface EncodedObject {
  wire: string;
  commands: number;
}

const SET3 = "*3\r\n$3\r\nSET\r\n";
const HSET = "\r\n$4\r\nHSET\r\n";

function bulk(s: string, ascii: boolean): string {
  return "$" + (ascii ? s.length : Buffer.byteLength(s, "utf8")) + "\r\n" + s + "\r\n";
}

/**
 * RESP encoding of {@linkcode kvCommands} without building the arrays. With
 * `ascii` (the object's JSON text is ASCII without `\u` escapes) every string
 * is ASCII and byte lengths are string lengths.
 */
export function encodeKv(
  obj: Record<string, unknown>,
  prefix: string,
  ascii: boolean,
  out: EncodedObject,
): void {
  let wire = "";
  let n = 0;
  for (const k in obj) {
    const v = obj[k];
    if (v !== null && typeof v === "object" && !Array.isArray(v)) {
      const h = v as Record<string, unknown>;
      let fields = "";
      let count = 0;
      for (const f in h) {
        fields += bulk(f, ascii) + bulk(text(h[f]), ascii);
        count++;
      }
      if (count === 0) continue;
      wire += "*" + (2 + 2 * count) + HSET + bulk(prefix + k, ascii) + fields;
    } else wire += SET3 + bulk(prefix + k, ascii) + bulk(text(v), ascii);
    n++;
  }
  out.wire = wire;
  out.commands = n;
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

/** RESP encoding of {@linkcode streamCommand}. */
export function encodeStream(
  json: string,
  client: string,
  key: string,
  maxlen: number | undefined,
  out: EncodedObject,
): void {
  out.wire = encodeCommand(streamCommand(json, client, key, maxlen));
  out.commands = 1;
}
