/**
 * Process lifecycle: SIGINT/SIGTERM start a graceful drain of a server
 * (stop accepting, finish or persist in-flight work, close), after which the
 * command exits 0.
 *
 * @module
 */
export * from "./shutdown.ts";
