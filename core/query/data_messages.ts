/** The data worker's events (its methods are `dataWorkerMethods` in data_worker.ts). */

/** Event name → data, sent by the data worker to {@linkcode DataStore}. */
export interface DataEvents {
  /** A file (re)loaded; `initial` during `start`. */
  loaded: { name: string; path: string; data: unknown; initial: boolean };
  /** A reload failed (the last good data stays). */
  failed: { name: string; path: string; error: string };
  /** The directories cannot be watched; stat checks still catch changes. */
  watchError: { error: string };
}
