/**
 * Notices when a file may have changed: `Deno.watchFs` on its directory (so
 * an atomic replace by rename is seen too), run in a Worker and debounced
 * there, plus a slow stat poll as a fallback for file systems without change
 * events. The callback only says "look again"; the caller compares file
 * versions.
 */
import { basename, dirname, resolve } from "node:path";
import type { WatchStart } from "./file_watch_worker.ts";

/** Options for {@linkcode watchFile}. */
export interface WatchFileOptions {
  /** Quiet time after the last event before `onChange` runs, ms. Default 50. */
  debounceMs?: number;
  /** Interval of the fallback poll, ms. Default 1000. */
  pollMs?: number;
}

/** A running watch; `close()` stops it (idempotent). */
export interface FileWatch extends Disposable {
  /** Resolves once change events are being watched (or the watch failed and only the poll runs). */
  readonly ready: Promise<void>;
  close(): void;
}

/**
 * Calls `onChange` (debounced) whenever `path` may have changed: created,
 * modified, removed, renamed over, at every poll interval, and once when
 * the watch is ready.
 *
 * @example
 * ```ts
 * using watch = watchFile("words.txt", () => rebuildIfChanged());
 * ```
 */
export function watchFile(
  path: string,
  onChange: () => void,
  options: WatchFileOptions = {},
): FileWatch {
  const full = resolve(path);
  let closed = false;
  const worker = new Worker(new URL("./file_watch_worker.ts", import.meta.url), {
    type: "module",
  });
  const { promise: ready, resolve: markReady } = Promise.withResolvers<void>();
  worker.onmessage = (e: MessageEvent<string>) => {
    if (e.data === "ready") {
      markReady();
      // A change between the caller's first look and now would go unseen until the poll.
      if (!closed) onChange();
      return;
    }
    if (!closed) onChange();
  };
  worker.onerror = (e) => {
    e.preventDefault(); // the poll below still runs
    markReady();
  };
  const start: WatchStart = {
    dir: dirname(full),
    names: [basename(full)],
    debounceMs: options.debounceMs ?? 50,
  };
  worker.postMessage(start);
  const poll = setInterval(() => {
    if (!closed) onChange();
  }, options.pollMs ?? 1000);
  const close = () => {
    if (closed) return;
    closed = true;
    clearInterval(poll);
    worker.terminate();
    markReady();
  };
  return { ready, close, [Symbol.dispose]: close };
}
