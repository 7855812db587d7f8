/**
 * Test harness for integration tests: a real `redis-server` on a free port,
 * the sockkit CLI as a subprocess (and daemons on a free port), port helpers and a throwaway PKI.
 *
 * @module
 */
export * from "./redis.ts";
export * from "./cli.ts";
export * from "./command.ts";
export * from "./daemon.ts";
export * from "./ingest_daemon.ts";
export * from "./chat_server.ts";
export * from "./tls.ts";
export * from "./net.ts";
export * from "./per_address.ts";
export * from "./pki.ts";
export * from "./metrics.ts";
export * from "./fs.ts";
export * from "./nats.ts";
export * from "./stalled.ts";
export * from "./tools.ts";
export * from "./query.ts";
export * from "./fd_limit.ts";
