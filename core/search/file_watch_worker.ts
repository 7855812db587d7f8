/// <reference lib="deno.worker" />
/**
 * Watches one directory with `Deno.watchFs` and reports, debounced, when a
 * watched file name was touched. Runs in a Worker so that a busy directory
 * (logs, spools) never costs the serving thread anything: only the events
 * for the searched file, already coalesced, reach it.
 *
 * Protocol: receives `{ dir, names, debounceMs }` once; posts `"ready"` once
 * watching, then `"change"`.
 *
 * @module
 */
import { basename } from "node:path";

/** The start message. */
export interface WatchStart {
  dir: string;
  names: string[];
  debounceMs: number;
}

self.onmessage = async (event: MessageEvent<WatchStart>) => {
  const { dir, names, debounceMs } = event.data;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const kick = () => {
    clearTimeout(timer);
    timer = setTimeout(() => self.postMessage("change"), debounceMs);
  };
  let watcher: Deno.FsWatcher;
  try {
    watcher = Deno.watchFs(dir, { recursive: false });
  } catch {
    self.postMessage("ready"); // cannot watch: the caller's stat poll carries on
    return;
  }
  self.postMessage("ready");
  try {
    for await (const e of watcher) {
      if (e.paths.some((p) => names.includes(basename(p)))) kick();
    }
  } catch {
    // The directory went away or cannot be watched: the caller's stat poll carries on.
  }
};
