/**
 * The search service: an exact full-line, byte-for-byte string search server
 * over a text file. Queries are answered `STRING EXISTS` or `STRING NOT
 * FOUND`, either by rereading the file for every query (in a pool of Web
 * Workers) or from a line index that is rebuilt and swapped in when the file
 * changes. Also: its INI-like config file, a client, a benchmark of search
 * methods with a report, and a load generator.
 *
 * Shape: `server.ts` accepts, `session.ts` answers one connection's lines
 * (`protocol.ts`); reread mode sends queries to `worker_pool.ts`, whose
 * `search_worker.ts` reads the file in pieces (`chunked_scan.ts`, a large file
 * split between the workers) and checks them with `simd_search.ts` (one
 * query) or `line_batch.ts` (many queries in one pass); index mode answers
 * from `line_table.ts`, rebuilt off the main thread (`load.ts`) when
 * `file_watch.ts` sees a change. `bench/` is the benchmark and report.
 *
 * @module
 */
export * from "./protocol.ts";
export * from "./line_search.ts";
export * from "./line_table.ts";
export * from "./file_bytes.ts";
export * from "./file_watch.ts";
export * from "./worker_pool.ts";
export * from "./matcher.ts";
export * from "./index_matcher.ts";
export * from "./session.ts";
export * from "./server.ts";
export * from "./client.ts";
export * from "./config_file.ts";
export * from "./simd_search.ts";
export * from "./bench/mod.ts";
export * from "./bench/bench_methods.ts";
export * from "./bench/bench_data.ts";
export * from "./bench/bench_report.ts";
export { compactNumber, svgLogLogChart } from "./svg_chart.ts";
export type { ChartOptions, ChartPanel, ChartSeries } from "./svg_chart.ts";
export * from "./bench/bench_pdf.ts";
export * from "./bench/bench_wire.ts";
export * from "./bench/load_target.ts";
export * from "./load.ts";
