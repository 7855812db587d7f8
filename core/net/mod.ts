/**
 * Networking core, the only network seam: TLS (`node:tls`) and plain TCP
 * listeners with client certificate checks, peer identity, an accept loop
 * that survives EMFILE, a client `connect`, local (Unix socket) listeners and
 * connects, connections (bytes in with real
 * pause/resume, writes that honour drain, idle timeout and buffer caps) and an
 * in-memory connection pair for unit tests, and byte-level framers (JSON object stream, lines,
 * length-prefixed frames), each with a hard size limit, and the datagram
 * (UDP) socket.
 *
 * Shape: `listener.ts` (with `listen_options.ts`, `_tls_handshake.ts`,
 * `_admission.ts`) and `local_listener.ts` accept into `accept_loop.ts`;
 * `connect.ts` / `local_connect.ts` dial; each socket becomes one
 * `connection.ts` {@linkcode Connection}; `datagram.ts` is the UDP seam;
 * `framing/` the byte framers.
 *
 * @module
 */
export * from "./errors.ts";
export * from "./peer.ts";
export * from "./connection.ts";
export * from "./listen_options.ts";
export * from "./address.ts";
export * from "./per_address.ts";
export * from "./listener.ts";
export * from "./accept_loop.ts";
export * from "./memory_pair.ts";
export * from "./local_listener.ts";
export * from "./local_connect.ts";
export * from "./connect.ts";
export * from "./datagram.ts";
export * from "./fd_limit.ts";
export * from "./free_port.ts";
export * from "./framing/mod.ts";
export { certificateNames, looksLikeTlsRecord, notTlsServerError } from "./tls_hint.ts";
