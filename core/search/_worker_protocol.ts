/** Messages between the main thread and a search worker (discriminated unions). */
import type { FileProblem, FileVersion } from "./file_bytes.ts";
import type { LineTableData } from "./line_table.ts";

/** A request to a search worker. */
export type WorkerRequest =
  /** Read `path` once and report, for each query, whether it is one of its lines. */
  | { kind: "scan"; id: number; path: string; queries: Uint8Array[] }
  /** Read `path` and build a line index of it. */
  | { kind: "build"; id: number; path: string }
  /** Look `query` up in an index of `path` kept inside the worker (built on first use). */
  | { kind: "lookup"; id: number; path: string; query: Uint8Array };

/** A reply from a search worker. */
export type WorkerReply =
  | { kind: "scanned"; id: number; found: boolean }
  | { kind: "scannedAll"; id: number; found: boolean[] }
  | { kind: "built"; id: number; data: LineTableData; version: FileVersion }
  | { kind: "failed"; id: number; path: string; problem: FileProblem; message: string };
