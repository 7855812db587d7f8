/**
 * ingest: a mutual-TLS daemon that receives JSON objects from many clients
 * (back to back, or whitespace-separated) and stores them in Redis in
 * pipelined batches, with a disk spool for Redis outages, backpressure to
 * clients, optional acknowledgements, Prometheus metrics, a `send` client and
 * a load generator.
 *
 * @module
 */
export * from "./layout.ts";
export * from "./store.ts";
export * from "./resp_store.ts";
export * from "./cluster_store.ts";
export * from "./spool.ts";
export * from "./writer.ts";
export * from "./session.ts";
export * from "./metrics.ts";
export * from "./server.ts";
export * from "./client.ts";
export * from "./input.ts";
export * from "./config.ts";
export * from "./reload.ts";
