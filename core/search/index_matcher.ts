/**
 * Index mode: a {@linkcode LineTable} built in a worker, looked up on the
 * main thread (a hash and a byte compare, a few microseconds; a worker round
 * trip costs more, see `search bench`), and rebuilt and swapped in when the
 * file changes on disk.
 */
import { type Logger, nullLogger } from "../log/mod.ts";
import { type FileVersion, SearchFileError, versionChanged, versionOf } from "./file_bytes.ts";
import { type FileWatch, watchFile } from "./file_watch.ts";
import type { LineTable } from "./line_table.ts";
import type { Matcher } from "./matcher.ts";
import type { SearchWorkerPool } from "./worker_pool.ts";

/** Options for {@linkcode IndexMatcher.open}. */
export interface IndexMatcherOptions {
  /** Where rebuilds and failures are logged. Default: silent. */
  logger?: Logger;
  /** Quiet time after a change event before rebuilding, ms. Default 50. */
  debounceMs?: number;
  /** Interval of the fallback stat poll, ms. Default 1000. */
  pollMs?: number;
  /** Called after each swap with the new line count (tests, metrics). */
  onRebuilt?: (lines: number, version: FileVersion) => void;
}

/** Looks queries up in an index of the file that follows the file's changes. */
export class IndexMatcher implements Matcher {
  readonly mode = "index" as const;
  readonly #path: string;
  readonly #pool: SearchWorkerPool;
  readonly #options: IndexMatcherOptions;
  readonly #log: Logger;
  #table: LineTable;
  #version: FileVersion;
  #problem: SearchFileError | undefined;
  #watch: FileWatch | undefined;
  #running: Promise<void> | undefined;
  #again = false;
  #closed = false;
  #rebuilds = 0;

  private constructor(
    path: string,
    pool: SearchWorkerPool,
    built: { table: LineTable; version: FileVersion },
    options: IndexMatcherOptions,
  ) {
    this.#path = path;
    this.#pool = pool;
    this.#options = options;
    this.#log = options.logger ?? nullLogger;
    this.#table = built.table;
    this.#version = built.version;
  }

  /**
   * Builds the first index (a missing or unreadable file throws
   * `SearchFileError`) and starts watching the file.
   */
  static async open(
    path: string,
    pool: SearchWorkerPool,
    options: IndexMatcherOptions = {},
  ): Promise<IndexMatcher> {
    const built = await pool.build(path);
    const m = new IndexMatcher(path, pool, built, options);
    m.#watch = watchFile(path, () => m.refresh(), {
      debounceMs: options.debounceMs ?? 50,
      pollMs: options.pollMs ?? 1000,
    });
    return m;
  }

  /** Distinct lines in the current index. */
  get lines(): number {
    return this.#table.size;
  }

  /** How many times the index was rebuilt since it opened. */
  get rebuilds(): number {
    return this.#rebuilds;
  }

  match(query: Uint8Array): boolean {
    if (this.#problem) throw this.#problem;
    return this.#table.has(query);
  }

  /**
   * Checks the file's version and rebuilds the index when it changed.
   * Concurrent calls coalesce into one more pass. Resolves when done.
   */
  refresh(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    if (this.#running) {
      this.#again = true;
      return this.#running;
    }
    this.#running = (async () => {
      do {
        this.#again = false;
        await this.#checkOnce();
      } while (this.#again && !this.#closed);
    })().finally(() => this.#running = undefined);
    return this.#running;
  }

  async #checkOnce(): Promise<void> {
    let version: FileVersion;
    try {
      version = versionOf(await Deno.stat(this.#path));
    } catch (err) {
      this.#fail(SearchFileError.from(this.#path, err));
      return;
    }
    if (!this.#problem && !versionChanged(this.#version, version)) return;
    const started = performance.now();
    try {
      const built = await this.#pool.build(this.#path);
      if (this.#closed) return;
      this.#table = built.table;
      this.#version = built.version;
      this.#rebuilds++;
      if (this.#problem) this.#log.info("search file is back", { file: this.#path });
      this.#problem = undefined;
      this.#log.info("index rebuilt", {
        file: this.#path,
        lines: built.table.size,
        ms: Math.round(performance.now() - started),
      });
      this.#options.onRebuilt?.(built.table.size, built.version);
    } catch (err) {
      this.#fail(err instanceof SearchFileError ? err : SearchFileError.from(this.#path, err));
    }
  }

  /** Why the file cannot be read now (its last check failed), or `undefined`. */
  get problem(): string | undefined {
    return this.#problem?.message;
  }

  #fail(err: SearchFileError): void {
    if (!this.#problem) this.#log.warn("search file unavailable", { error: err.message });
    this.#problem = err;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#watch?.close();
    await this.#running?.catch(() => {});
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
