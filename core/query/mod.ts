/**
 * The query service: a TCP and UDP server that answers each query by running
 * a user-supplied handler `(query, data) => reply` in a Worker with a time
 * limit, over CSV/JSON data files that are re-read when they change. Also the
 * wire codec (4-byte header, optional X25519 + AES-256-GCM encryption), the
 * client, key files and the benchmark.
 *
 * Shape: `tcp_server.ts` and `udp_server.ts` (over core/net's datagram seam)
 * decode the wire (`wire.ts`, `crypto.ts`) and hand each query to
 * `answerer.ts`, which runs it in `handler_pool.ts`: one `_handler_slot.ts`
 * per worker (batches over the `_handler_channel.ts` shared-memory lane),
 * `_handler_recovery.ts` for what fails or runs again after a time limit or a
 * crash. The data files are loaded and watched by `data_worker.ts`
 * (`data_store.ts`, `load_file.ts`, `spec.ts`).
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
