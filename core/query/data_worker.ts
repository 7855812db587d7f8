/// <reference lib="deno.worker" />
/**
 * The data worker: loads every data file, watches their directories with
 * `Deno.watchFs`, compares each file's stat (mtime, size, inode) when the
 * main thread asks for a check, and reloads a changed file after a short
 * debounce. Parsing happens here so the server's sockets never wait on it.
 */
import { dirname } from "node:path";
import { emitEvent, serveWorker } from "../worker/mod.ts";
import type { DataEvents } from "./data_messages.ts";
import { loadDataFile } from "./load_file.ts";
import type { DataFileSpec } from "./spec.ts";
import { errorText } from "../log/mod.ts";

interface FileState {
  spec: DataFileSpec;
  /** `mtime:size:ino` at the last load attempt. */
  signature: string;
  timer: ReturnType<typeof setTimeout> | undefined;
  loading: boolean;
  again: boolean;
}

const files = new Map<string, FileState>();
let debounceMs = 50;

function post<K extends keyof DataEvents>(name: K, data: DataEvents[K]): void {
  emitEvent(name, data);
}

async function signatureOf(path: string): Promise<string> {
  try {
    const s = await Deno.stat(path);
    return `${s.mtime?.getTime() ?? 0}:${s.size}:${s.ino ?? 0}`;
  } catch {
    return "missing";
  }
}

/** Loads a file, reporting the outcome; returns the error of a failed load. */
async function load(state: FileState, initial: boolean): Promise<string | undefined> {
  if (state.loading) {
    state.again = true;
    return;
  }
  state.loading = true;
  let failure: string | undefined;
  try {
    do {
      state.again = false;
      state.signature = await signatureOf(state.spec.path);
      const { name, path } = state.spec;
      try {
        const data = await loadDataFile(state.spec);
        failure = undefined;
        post("loaded", { name, path, data, initial });
      } catch (err) {
        failure = errorText(err);
        if (!initial) post("failed", { name, path, error: failure });
      }
    } while (state.again);
  } finally {
    state.loading = false;
  }
  return failure;
}

function schedule(state: FileState): void {
  clearTimeout(state.timer);
  state.timer = setTimeout(() => {
    state.timer = undefined;
    void load(state, false);
  }, debounceMs);
}

async function watch(dirs: string[]): Promise<void> {
  try {
    const watcher = Deno.watchFs(dirs, { recursive: false });
    for await (const event of watcher) {
      if (event.kind === "access") continue;
      for (const p of event.paths) {
        const state = files.get(p);
        if (state) schedule(state);
      }
    }
  } catch (err) {
    post("watchError", { error: errorText(err) });
  }
}

async function check(): Promise<void> {
  for (const state of files.values()) {
    if (state.timer !== undefined || state.loading) continue;
    if (await signatureOf(state.spec.path) !== state.signature) schedule(state);
  }
}

/** The data worker's methods (see `DataStore`). */
export const dataWorkerMethods = {
  /** Loads every file once (returns the errors of those that failed), then watches them. */
  async start(o: { files: DataFileSpec[]; debounceMs: number }): Promise<string[]> {
    debounceMs = o.debounceMs;
    for (const spec of o.files) {
      files.set(spec.path, { spec, signature: "", timer: undefined, loading: false, again: false });
    }
    const failures = await Promise.all([...files.values()].map((s) => load(s, true)));
    void watch([...new Set(o.files.map((f) => dirname(f.path)))]);
    return failures.filter((f) => f !== undefined);
  },
  /** Compares every file's stat with its last load and reloads those that changed. */
  check: () => check(),
};

// A reader or transform module's stray rejected promise must not kill the
// worker (it is not respawned, and reloads would stop for good).
globalThis.addEventListener("unhandledrejection", (e) => e.preventDefault());

serveWorker(dataWorkerMethods);
