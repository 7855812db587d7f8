/**
 * Networking core: TLS (`node:tls`) and plain TCP listeners with client
 * certificate checks and peer identity, a client `connect`, connections whose
 * writes honour drain, and byte-level framers (JSON object stream, lines,
 * length-prefixed frames), each with a hard size limit.
 *
 * @module
 */
export * from "./errors.ts";
export * from "./peer.ts";
export * from "./connection.ts";
export * from "./listener.ts";
export * from "./connect.ts";
export * from "./fd_limit.ts";
export * from "./framing/mod.ts";
export { looksLikeTlsRecord, notTlsServerError } from "./tls_hint.ts";
