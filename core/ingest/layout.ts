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
 * The parts: `_kv_members.ts` splits an object into its members,
 * `_layout_encode.ts` and `_kv_bytes.ts` (the ASCII fast path) write the
 * commands as RESP straight into a batch (no intermediate arrays: at 200k
 * objects/s every allocation per object shows up in the profile).
 */

/** The storage layout names. */
export const LAYOUTS = ["kv", "stream"] as const;
/** A storage layout. */
export type Layout = typeof LAYOUTS[number];
