/**
 * The query service: a TCP and UDP server that answers each query by running
 * a user-supplied handler `(query, data) => reply` in a Worker with a time
 * limit, over CSV/JSON data files that are re-read when they change. Also the
 * wire codec (4-byte header, optional X25519 + AES-256-GCM encryption), the
 * client, key files and the benchmark.
 *
 * @module
 */
export * from "./wire.ts";
export * from "./crypto.ts";
export * from "./keys.ts";
export * from "./spec.ts";
export * from "./load_file.ts";
export * from "./data_store.ts";
export * from "./handler_pool.ts";
export * from "./answerer.ts";
export * from "./tcp_server.ts";
export * from "./udp_server.ts";
export * from "./server.ts";
export * from "./client.ts";
