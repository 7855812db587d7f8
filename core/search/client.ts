/**
 * A search client: one connection, queries pipelined and answered in order.
 */
import {
  type ClientTlsOptions,
  connect,
  type Connection,
  LineFramer,
  notTlsServerError,
} from "../net/mod.ts";
import { DEFAULT_SEARCH_PORT, parseReply } from "./protocol.ts";

/** Options for {@linkcode SearchClient.connect}. */
export interface SearchClientOptions {
  /** Server host. Default `"localhost"`. */
  host?: string;
  /** Server port. Default 44445. */
  port?: number;
  /** TLS settings; plain TCP without them. */
  tls?: ClientTlsOptions;
  /** Connect timeout, ms. Default 10000. */
  timeoutMs?: number;
  /**
   * Fail a query (and drop the connection) when its answer takes longer
   * than this, ms. Default: wait as long as the connection is open.
   */
  answerTimeoutMs?: number;
}

interface Waiter {
  resolve: (found: boolean) => void;
  reject: (err: Error) => void;
}

const encoder = new TextEncoder();
const EXISTS_LEN = "STRING EXISTS".length;
const NOT_FOUND_LEN = "STRING NOT FOUND".length;
const decoder = new TextDecoder();

/**
 * A connection to a search server. Queries may be sent without waiting for
 * earlier answers; answers arrive in order.
 *
 * @example
 * ```ts
 * await using client = await SearchClient.connect({ port: 44445 });
 * const found = await client.query("apple");
 * ```
 */
export class SearchClient implements AsyncDisposable {
  readonly #conn: Connection;
  readonly #waiters: Waiter[] = [];
  #head = 0;
  #failure: Error | undefined;

  readonly #answerTimeoutMs: number | undefined;
  #answered = false;

  private constructor(conn: Connection, answerTimeoutMs: number | undefined, tls: boolean) {
    this.#conn = conn;
    this.#answerTimeoutMs = answerTimeoutMs;
    const lines = new LineFramer({ maxLineBytes: 64 * 1024 });
    conn.socket.on("data", (chunk: Uint8Array) => {
      try {
        lines.push(chunk, (line) => this.#settle(line));
      } catch (err) {
        this.#fail(err instanceof Error ? err : new Error(String(err)));
        conn.destroy();
      }
    });
    conn.socket.on("error", (err: Error) => this.#fail(err));
    conn.closed.then(() =>
      this.#fail(
        new Error(
          this.#answered
            ? "Search server closed the connection"
            : tls
            ? "Search server closed the connection without answering: it probably requires a " +
              "client certificate (pass --cert and --key, one its allow-list accepts)"
            : "Search server closed the connection without answering: it probably expects TLS " +
              "(add --tls)",
        ),
      )
    );
  }

  /** Connects to a search server. */
  static async connect(options: SearchClientOptions = {}): Promise<SearchClient> {
    const host = options.host ?? "localhost";
    const port = options.port ?? DEFAULT_SEARCH_PORT;
    let conn: Connection;
    try {
      conn = await connect({
        host,
        port,
        ...(options.tls ? { tls: options.tls } : {}),
        ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
      });
    } catch (err) {
      // A plain-TCP server answers a TLS ClientHello with bytes that are no TLS record.
      throw (options.tls && notTlsServerError(err, `${host}:${port}`)) || err;
    }
    return new SearchClient(conn, options.answerTimeoutMs, options.tls !== undefined);
  }

  /** Queries waiting for an answer. */
  get inFlight(): number {
    return this.#waiters.length - this.#head;
  }

  #settle(line: Uint8Array): void {
    this.#answered = true;
    const w = this.#waiters[this.#head];
    if (!w) return;
    this.#waiters[this.#head++] = undefined as unknown as Waiter;
    if (this.#head > 4096 && this.#head * 2 > this.#waiters.length) {
      this.#waiters.splice(0, this.#head);
      this.#head = 0;
    }
    // The two usual answers are told apart by length without decoding.
    if (line.length === EXISTS_LEN && line[7] === 0x45) return w.resolve(true);
    if (line.length === NOT_FOUND_LEN && line[7] === 0x4e) return w.resolve(false);
    try {
      w.resolve(parseReply(decoder.decode(line)));
    } catch (err) {
      w.reject(err as Error);
    }
  }

  #fail(err: Error): void {
    this.#failure ??= err;
    while (this.#head < this.#waiters.length) this.#waiters[this.#head++]!.reject(this.#failure);
  }

  /**
   * Sends `query` (a `\n` is added; it must not contain one) and resolves
   * with whether it is a line of the server's file. An `ERROR:` reply rejects.
   */
  query(query: string | Uint8Array): Promise<boolean> {
    if (this.#failure) return Promise.reject(this.#failure);
    const bytes = typeof query === "string" ? encoder.encode(query) : query;
    if (bytes.includes(0x0a)) {
      return Promise.reject(new TypeError("Invalid query: it must not contain a newline"));
    }
    const frame = new Uint8Array(bytes.length + 1);
    frame.set(bytes);
    frame[bytes.length] = 0x0a;
    const ms = this.#answerTimeoutMs;
    if (ms === undefined) {
      return new Promise((resolve, reject) => {
        this.#waiters.push({ resolve, reject });
        this.#conn.socket.write(frame);
      });
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#fail(new Error(`No answer from the search server within ${ms} ms`));
        this.#conn.destroy();
      }, ms);
      this.#waiters.push({
        resolve: (v) => (clearTimeout(timer), resolve(v)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      });
      this.#conn.socket.write(frame);
    });
  }

  /** Sends raw bytes as they are (for tests of framing and one-shot clients). */
  writeRaw(bytes: Uint8Array | string): void {
    this.#conn.socket.write(bytes);
  }

  /** Closes the connection. Idempotent. */
  async close(): Promise<void> {
    await this.#conn.close(500);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/**
 * Sends one query on a fresh connection and resolves with the answer.
 *
 * @example
 * ```ts
 * if (await searchOnce("apple", { port: 44445 })) console.log("found");
 * ```
 */
export async function searchOnce(
  query: string | Uint8Array,
  options: SearchClientOptions = {},
): Promise<boolean> {
  await using client = await SearchClient.connect(options);
  return await client.query(query);
}
