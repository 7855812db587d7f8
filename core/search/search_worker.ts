/// <reference lib="deno.worker" />
/**
 * A search worker: rereads the file and scans its raw bytes for a query, or
 * builds a line index and transfers it to the main thread. One message at a
 * time; the main thread's pool spreads work over several of these.
 *
 * @module
 */
import type { WorkerReply, WorkerRequest } from "./_worker_protocol.ts";
import { readFileBytes, SearchFileError } from "./file_bytes.ts";
import { ChunkedLineScanner } from "./chunked_scan.ts";
import { SimdSearcher } from "./simd_search.ts";
import { LineTable } from "./line_table.ts";

// Reread scans read the file piece by piece straight into WebAssembly memory
// and search each piece with SIMD; without WebAssembly SIMD, a plain buffer
// and Horspool.
const simd = SimdSearcher.create();
const scanner = new ChunkedLineScanner(
  simd ? { alloc: (size) => simd.buffer(size), find: simd.findLine } : {},
);
const tables = new Map<string, LineTable>();

function failed(id: number, path: string, err: unknown): WorkerReply {
  const e = SearchFileError.from(path, err);
  return { kind: "failed", id, path, problem: e.problem, message: e.message };
}

self.onmessage = (event: MessageEvent<WorkerRequest>) => {
  const req = event.data;
  if (req.kind === "scan") {
    let reply: WorkerReply;
    try {
      const found = scanner.scan(req.path, req.queries);
      reply = { kind: "scannedAll", id: req.id, found };
    } catch (err) {
      reply = failed(req.id, req.path, err);
    }
    self.postMessage(reply);
  } else if (req.kind === "lookup") {
    let reply: WorkerReply;
    try {
      let table = tables.get(req.path);
      if (!table) tables.set(req.path, table = LineTable.build(readFileBytes(req.path).bytes));
      reply = { kind: "scanned", id: req.id, found: table.has(req.query) };
    } catch (err) {
      reply = failed(req.id, req.path, err);
    }
    self.postMessage(reply);
  } else {
    try {
      const { bytes, version } = readFileBytes(req.path);
      const data = LineTable.build(bytes).data;
      const reply: WorkerReply = { kind: "built", id: req.id, data, version };
      self.postMessage(reply, LineTable.transferList(data));
    } catch (err) {
      self.postMessage(failed(req.id, req.path, err));
    }
  }
};
