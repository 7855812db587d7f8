/// <reference lib="deno.worker" />
/**
 * A search worker: rereads the file and scans its raw bytes for queries, or
 * builds a line index and transfers it to the main thread. One call at a
 * time; the main thread's pool spreads work over several of these. A file
 * problem fails the call with a `SearchFileError` (its path and problem
 * cross over).
 *
 * @module
 */
import { serveWorker, Transfer } from "../worker/mod.ts";
import { readFileBytes, SearchFileError } from "./file_bytes.ts";
import { ChunkedLineScanner, type ScanPart } from "./chunked_scan.ts";
import { SimdSearcher } from "./simd_search.ts";
import { LineTable } from "./line_table.ts";

// Reread scans read the file piece by piece straight into WebAssembly memory
// and search each piece with SIMD (one search per query, or one pass over the
// lines for a batch of queries); without WebAssembly SIMD, a plain buffer and
// Horspool.
const simd = SimdSearcher.create();
const scanner = new ChunkedLineScanner(
  simd ? { alloc: (size) => simd.buffer(size), find: simd.findLine, lines: simd.lineFilter } : {},
);
const tables = new Map<string, LineTable>();

function reading<T>(path: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw SearchFileError.from(path, err);
  }
}

/** What a search worker does (see `SearchWorkerPool`). */
export const searchWorkerMethods = {
  /**
   * Reads `path` (or one part of it) once and reports, for each query,
   * whether it is one of its lines, with the file version read.
   */
  scan: ({ path, queries, part }: { path: string; queries: Uint8Array[]; part?: ScanPart }) =>
    reading(path, () => scanner.scanPart(path, queries, part)),
  /** Looks `query` up in an index of `path` kept inside the worker (built on first use). */
  lookup: ({ path, query }: { path: string; query: Uint8Array }): boolean =>
    reading(path, () => {
      let table = tables.get(path);
      if (!table) tables.set(path, table = LineTable.build(readFileBytes(path).bytes));
      return table.has(query);
    }),
  /** Reads `path` and builds a line index of it (moved, not copied, to the caller). */
  build: ({ path }: { path: string }) =>
    reading(path, () => {
      const { bytes, version } = readFileBytes(path);
      const data = LineTable.build(bytes).data;
      return new Transfer({ data, version }, LineTable.transferList(data));
    }),
};

serveWorker(searchWorkerMethods);
