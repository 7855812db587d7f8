/**
 * Notices when a file may have changed: `Deno.watchFs` on its directory (so
 * an atomic replace by rename is seen too), debounced, plus a slow stat poll
 * as a fallback for file systems without change events. The callback only
 * says "look again"; the caller compares file versions.
 */
import { basename, dirname, resolve } from "node:path";

/** Options for {@linkcode watchFile}. */
export interface WatchFileOptions {
  /** Quiet time after the last event before `onChange` runs, ms. Default 50. */
  debounceMs?: number;
  /** Interval of the fallback poll, ms. Default 1000. */
  pollMs?: number;
}

/** A running watch; `close()` stops it (idempotent). */
export interface FileWatch extends Disposable {
  close(): void;
}

/**
 * Calls `onChange` (debounced) whenever `path` may have changed: created,
 * modified, removed, renamed over, or at every poll interval.
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
  const debounceMs = options.debounceMs ?? 50;
  const full = resolve(path);
  const name = basename(full);
  let timer: ReturnType<typeof setTimeout> | undefined;
  let closed = false;
  const kick = () => {
    if (closed) return;
    clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      if (!closed) onChange();
    }, debounceMs);
  };
  let watcher: Deno.FsWatcher | undefined;
  try {
    watcher = Deno.watchFs(dirname(full), { recursive: false });
  } catch {
    watcher = undefined; // the directory is missing: the poll still runs
  }
  if (watcher) {
    const w = watcher;
    (async () => {
      try {
        for await (const event of w) {
          if (event.paths.some((p) => p === full || basename(p) === name)) kick();
        }
      } catch {
        // The watcher was closed or the directory went away; the poll carries on.
      }
    })();
  }
  const poll = setInterval(() => {
    if (!closed) onChange();
  }, options.pollMs ?? 1000);
  const close = () => {
    if (closed) return;
    closed = true;
    clearTimeout(timer);
    clearInterval(poll);
    try {
      watcher?.close();
    } catch {
      // already closed
    }
  };
  return { close, [Symbol.dispose]: close };
}
