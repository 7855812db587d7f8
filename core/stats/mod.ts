/**
 * Figures of measured samples that more than one service's benchmark
 * reports: {@linkcode pct}, the percentile the broker, query and search benches
 * give as p50 and p99.
 *
 * @module
 */
export * from "./percentile.ts";
