/**
 * ingest: a mutual-TLS daemon that receives JSON objects from many clients
 * (back to back, or whitespace-separated) and stores them in Redis in
 * pipelined batches, with a disk spool for Redis outages, backpressure to
 * clients, optional acknowledgements, Prometheus metrics, a `send` client and
 * a load generator (`bench/mod.ts`).
 *
 * The face: {@linkcode startIngest} runs the server, the `config.ts` names
 * turn flags, environment and config files into its options,
 * {@linkcode reloadIngest} applies SIGHUP, {@linkcode sendObjects} and
 * {@linkcode readObjects} are the client. Inside, `_`-prefixed: each
 * connection's session (`_session.ts`: pump, intake, ack policy) feeds the
 * batch writer (`_writer.ts`), which writes to Redis through a store
 * (`_resp_thread.ts`, `_cluster_store.ts`) or to the spool (`_spool.ts`).
 *
 * @module
 */
export { type Layout, LAYOUTS } from "./layout.ts";
export type { IngestMetrics } from "./metrics.ts";
export { type IngestOptions, type IngestServer, startIngest, type WriterState } from "./server.ts";
export { sendObjects, type SendOptions, type SendResult } from "./client.ts";
export { readObjects } from "./input.ts";
export * from "./config.ts";
export * from "./reload.ts";
