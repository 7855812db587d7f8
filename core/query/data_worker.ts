/// <reference lib="deno.worker" />
/**
 * The data worker: loads every data file, watches their directories with
 * `Deno.watchFs`, compares each file's stat (mtime, size, inode) when the
 * main thread asks for a check, and reloads a changed file after a short
 * debounce. Parsing happens here so the server's sockets never wait on it.
 */
import { dirname } from "node:path";
import type { DataWorkerEvent, DataWorkerRequest } from "./data_messages.ts";
import { loadDataFile } from "./load_file.ts";
import type { DataFileSpec } from "./spec.ts";

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

function post(event: DataWorkerEvent): void {
  self.postMessage(event);
}

async function signatureOf(path: string): Promise<string> {
  try {
    const s = await Deno.stat(path);
    return `${s.mtime?.getTime() ?? 0}:${s.size}:${s.ino ?? 0}`;
  } catch {
    return "missing";
  }
}

async function load(state: FileState, initial: boolean): Promise<void> {
  if (state.loading) {
    state.again = true;
    return;
  }
  state.loading = true;
  try {
    do {
      state.again = false;
      state.signature = await signatureOf(state.spec.path);
      const { name, path } = state.spec;
      try {
        const data = await loadDataFile(state.spec);
        post({ type: "loaded", name, path, data, initial });
      } catch (err) {
        post({
          type: "failed",
          name,
          path,
          error: err instanceof Error ? err.message : String(err),
          initial,
        });
      }
    } while (state.again);
  } finally {
    state.loading = false;
  }
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
    post({ type: "watch-error", error: err instanceof Error ? err.message : String(err) });
  }
}

async function check(): Promise<void> {
  for (const state of files.values()) {
    if (state.timer !== undefined || state.loading) continue;
    if (await signatureOf(state.spec.path) !== state.signature) schedule(state);
  }
}

self.onmessage = async (e: MessageEvent<DataWorkerRequest>) => {
  const m = e.data;
  if (m.type === "start") {
    debounceMs = m.debounceMs;
    for (const spec of m.files) {
      files.set(spec.path, { spec, signature: "", timer: undefined, loading: false, again: false });
    }
    await Promise.all([...files.values()].map((s) => load(s, true)));
    post({ type: "ready" });
    void watch([...new Set(m.files.map((f) => dirname(f.path)))]);
  } else if (m.type === "check") {
    await check();
  }
};
