/**
 * The search wire protocol, as bytes in and text out: a query is what a
 * client sends up to `\n` (or up to a half-close or a pause), without
 * trailing `\x00` and `\r`; the reply is one line.
 */

/** The default search port. */
export const DEFAULT_SEARCH_PORT = 44445;

/** Longest query accepted, in bytes (without its terminator). */
export const MAX_QUERY_BYTES = 1024;

/**
 * Trailing `\x00` bytes after a query that are padding (a C client's
 * buffer): dropped as they arrive, not counted toward {@linkcode MAX_QUERY_BYTES}.
 */
export const MAX_PADDING_BYTES = 64 * 1024;

/** Reply when the query is a whole line of the file. */
export const REPLY_EXISTS = "STRING EXISTS\n";
/** Reply when it is not (and for an empty query). */
export const REPLY_NOT_FOUND = "STRING NOT FOUND\n";

/** An error reply line: `ERROR: message\n` (newlines in the message flattened). */
export function errorReply(message: string): string {
  return `ERROR: ${message.replace(/[\r\n]+/g, " ")}\n`;
}

/** Removes trailing `\x00` and `\r` bytes (any mix, any count); returns a view. */
export function cleanQuery(raw: Uint8Array): Uint8Array {
  let end = raw.length;
  while (end > 0 && (raw[end - 1] === 0x00 || raw[end - 1] === 0x0d)) end--;
  return end === raw.length ? raw : raw.subarray(0, end);
}

/** Parses one reply line (without `\n`): `true` found, `false` not found, or throws its error. */
export function parseReply(line: string): boolean {
  if (line === "STRING EXISTS") return true;
  if (line === "STRING NOT FOUND") return false;
  if (line.startsWith("ERROR: ")) throw new Error(`Search server error: ${line.slice(7)}`);
  throw new Error(`Unexpected reply from search server: ${JSON.stringify(line.slice(0, 80))}`);
}
