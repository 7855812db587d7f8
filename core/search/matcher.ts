/**
 * The two ways the server answers a query: reread the file in a worker for
 * every query, or look the query up in an index kept current by
 * {@linkcode IndexMatcher}.
 */
import type { SearchWorkerPool } from "./worker_pool.ts";
import { type Logger, nullLogger } from "../log/mod.ts";
import { SearchFileError } from "./file_bytes.ts";

/** Options for {@linkcode Matcher.match}. */
export interface MatchOptions {
  /** Who asks (a connection): reread queries of different clients take turns (see `SearchWorkerPool.scan`). */
  client?: object;
}

/** Answers "is this query a whole line of the file?". */
export interface Matcher extends AsyncDisposable {
  /** Which mode this is, for logs. */
  readonly mode: "reread" | "index";
  /** Why the file cannot be read now (its last read or check failed), or `undefined`. */
  readonly problem: string | undefined;
  /** Whether `query` is a line. Throws `SearchFileError` when the file cannot be read. */
  match(query: Uint8Array, options?: MatchOptions): boolean | Promise<boolean>;
  /** Stops background work. Idempotent. */
  close(): Promise<void>;
}

/**
 * Reads the file again for every query, in a worker of `pool`, and scans its
 * raw bytes: the answer always reflects the file as it is at that moment.
 */
export class RereadMatcher implements Matcher {
  readonly mode = "reread" as const;
  readonly #path: string;
  readonly #pool: SearchWorkerPool;
  readonly #log: Logger;
  #problem: string | undefined;

  /** `log` is told when the file becomes unreadable and when it is back, once each (as in index mode). */
  constructor(path: string, pool: SearchWorkerPool, log: Logger = nullLogger) {
    this.#path = path;
    this.#pool = pool;
    this.#log = log;
  }

  get problem(): string | undefined {
    return this.#problem;
  }

  match(query: Uint8Array, options: MatchOptions = {}): Promise<boolean> {
    return this.#pool.scan(this.#path, query, options).then(this.#read, this.#unread);
  }

  readonly #read = (found: boolean): boolean => {
    if (this.#problem !== undefined) {
      this.#problem = undefined;
      this.#log.info("search file is back", { file: this.#path });
    }
    return found;
  };

  readonly #unread = (err: unknown): never => {
    if (err instanceof SearchFileError && this.#problem === undefined) {
      this.#problem = err.message;
      this.#log.warn("search file unavailable", { error: err.message });
    }
    throw err;
  };

  close(): Promise<void> {
    return Promise.resolve();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
