/** The consumed front of a record log, kept in `DIR/head` so a reopened log skips it. */
import { join } from "node:path";
import type { LogCursor } from "./record_log_options.ts";
import { removeAtomicLeftoversSync, writeFileAtomic } from "./atomic_file.ts";

const HEAD_FILE = "head";

/** The front saved in `dir`, or `undefined` when none was (start at the beginning). */
export function _readHead(dir: string): LogCursor | undefined {
  try {
    return JSON.parse(Deno.readTextFileSync(join(dir, HEAD_FILE))) as LogCursor;
  } catch {
    return undefined;
  }
}

/** Saves the front of a log in `dir`, one write at a time, the latest position last. */
export class _HeadFile {
  readonly #dir: string;
  readonly #front: () => LogCursor;
  #dirty = false;
  #write: Promise<void> | undefined;

  /**
   * `front` gives the position to save when a write starts. Opening removes
   * the temporary file a crash mid-write left in `dir` (and `head.tmp`, the
   * one an earlier version used).
   */
  constructor(dir: string, front: () => LogCursor) {
    this.#dir = dir;
    this.#front = front;
    removeAtomicLeftoversSync(dir, (target) => target === HEAD_FILE, { legacy: true });
  }

  /** Saves the front soon (once the write in flight, if any, is done). */
  save(): void {
    this.#dirty = true;
    this.#write ??= (async () => {
      while (this.#dirty) {
        this.#dirty = false;
        // not durable, errors swallowed: a lost head only means records are read (and deduplicated) again
        const text = JSON.stringify(this.#front());
        await writeFileAtomic(join(this.#dir, HEAD_FILE), text).catch(() => {});
      }
      this.#write = undefined;
    })();
  }

  /** Resolves once no write is in flight. */
  settled(): Promise<void> {
    return this.#write ?? Promise.resolve();
  }
}
