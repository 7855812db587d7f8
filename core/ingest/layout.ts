/**
 * Storage layouts: how one received JSON object becomes Redis commands.
 *
 * - `kv` (compatible with the daemon sockkit replaces): for each top-level key
 *   `k`, a string is `SET k value`; a number, boolean, null or array is
 *   `SET k <JSON text>`; an object is `HSET k field value ...` merging into
 *   the hash (values below that level, and non-string field values, stored
 *   as JSON text). An empty object writes nothing.
 * - `stream`: the whole object is one `XADD` entry on one stream key with
 *   fields `client` (the peer identity) and `data` (the JSON text as sent),
 *   optionally trimmed with `MAXLEN ~ N`.
 */

/** The storage layout names. */
export const LAYOUTS = ["kv", "stream"] as const;
/** A storage layout. */
export type Layout = typeof LAYOUTS[number];

/** One Redis command as its arguments (`["HSET", "k", "f", "v"]`). */
export type Command = string[];

/** Options for {@linkcode commandsFor}. */
export interface LayoutOptions {
  /** The layout. */
  layout: Layout;
  /** Prepended to every key (kv) or the stream key. Default `""`. */
  keyPrefix?: string;
  /** Stream key (before the prefix) for the `stream` layout. Default `"ingest"`. */
  streamKey?: string;
  /** `MAXLEN ~ N` for the stream layout. Default: no trimming. */
  streamMaxlen?: number;
}

function text(v: unknown): string {
  return typeof v === "string" ? v : JSON.stringify(v);
}

/**
 * Appends the `kv` layout commands for one parsed object to `out` and returns
 * how many were added.
 *
 * @example
 * ```ts
 * const out: Command[] = [];
 * kvCommands({ a: "x", u: { n: 1 } }, "", out); // [["SET","a","x"],["HSET","u","n","1"]]
 * ```
 */
export function kvCommands(obj: Record<string, unknown>, prefix: string, out: Command[]): number {
  let n = 0;
  for (const k in obj) {
    const v = obj[k];
    const key = prefix + k;
    if (v !== null && typeof v === "object" && !Array.isArray(v)) {
      const cmd: Command = ["HSET", key];
      const h = v as Record<string, unknown>;
      for (const f in h) cmd.push(f, text(h[f]));
      if (cmd.length > 2) {
        out.push(cmd);
        n++;
      }
    } else {
      out.push(["SET", key, text(v)]);
      n++;
    }
  }
  return n;
}

/** The full stream key for `options`. */
export function streamKeyOf(options: LayoutOptions): string {
  return (options.keyPrefix ?? "") + (options.streamKey ?? "ingest");
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
