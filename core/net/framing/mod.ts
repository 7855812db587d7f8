/**
 * Byte-level framers, each a small state machine with a hard size limit:
 * a JSON value stream (objects back to back or whitespace-separated), `\n`
 * lines (`\r\n` accepted) and 4-byte big-endian length-prefixed frames. They
 * take bytes in and give frames out, so they are tested without sockets.
 *
 * @module
 */
export * from "./json_stream.ts";
export * from "./lines.ts";
export * from "./length_prefixed.ts";
