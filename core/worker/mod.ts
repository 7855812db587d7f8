/**
 * One request/response channel to a worker thread, for every service:
 * {@linkcode WorkerClient} on the main thread (ids, crash handling, respawn,
 * close with a time limit) and {@linkcode serveWorker} in the worker. Works
 * over Deno Web Workers ({@linkcode webWorker}) and `node:worker_threads`
 * ({@linkcode threadWorker}, for heap caps). The services keep only their
 * scheduling policy.
 *
 * @module
 */
export * from "./protocol.ts";
export * from "./port.ts";
export * from "./client.ts";
export * from "./errors.ts";
export * from "./server.ts";
