/** Messages between {@linkcode DataStore} and its data worker. */
import type { DataFileSpec } from "./spec.ts";

/** Main thread → data worker. */
export type DataWorkerRequest =
  | { type: "start"; files: DataFileSpec[]; debounceMs: number }
  | { type: "check" };

/** Data worker → main thread. */
export type DataWorkerEvent =
  | { type: "loaded"; name: string; path: string; data: unknown; initial: boolean }
  | { type: "failed"; name: string; path: string; error: string; initial: boolean }
  | { type: "ready" }
  | { type: "watch-error"; error: string };
