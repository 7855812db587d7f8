/** A test client for servercli: real TLS via core/net `connect`, lines in and out. */
import { type ClientTlsOptions, connect, type Connection } from "../../core/net/mod.ts";
import { LineFramer } from "../../core/net/framing/mod.ts";
import { settlesWithin } from "../../core/async/mod.ts";

/** Reads `\n` lines from a servercli connection; `null` marks the end of the stream. */
export class LineClient implements AsyncDisposable {
  readonly conn: Connection;
  readonly #lines: Array<string | null> = [];
  readonly #waiters: Array<() => void> = [];

  constructor(conn: Connection) {
    this.conn = conn;
    const framer = new LineFramer({ maxLineBytes: 1 << 20 });
    const decoder = new TextDecoder();
    conn.receive({
      data: (chunk) => framer.push(chunk, (line) => this.#push(decoder.decode(line))),
    });
    conn.closed.then(() => this.#push(null));
  }

  #push(line: string | null): void {
    this.#lines.push(line);
    for (const w of this.#waiters.splice(0)) w();
  }

  /** The next line, or `null` once the server closed; throws after `timeoutMs` (default 10000). */
  async next(timeoutMs = 10_000): Promise<string | null> {
    const deadline = Date.now() + timeoutMs;
    while (this.#lines.length === 0) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`No line from the server within ${timeoutMs} ms`);
      await settlesWithin(new Promise<void>((resolve) => this.#waiters.push(resolve)), left);
    }
    const line = this.#lines.shift()!;
    if (line === null) this.#lines.unshift(null); // stays at end of stream
    return line;
  }

  /** The next line that is not a date (`YYYY-MM-DD...` or a JSON date message). */
  async nextNonDate(timeoutMs = 10_000): Promise<string | null> {
    while (true) {
      const line = await this.next(timeoutMs);
      if (line === null || !isDate(line)) return line;
    }
  }

  /** Sends raw text or bytes. */
  async send(data: string | Uint8Array): Promise<void> {
    await this.conn.write(data);
  }

  /** Closes the connection. */
  async close(): Promise<void> {
    this.conn.destroy();
    await this.conn.closed;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

function isDate(line: string): boolean {
  return /^\d{4}-\d{2}-\d{2}/.test(line) || line.startsWith('{"msg_type":"date"');
}

/** Connects a {@linkcode LineClient} to 127.0.0.1:`port`. */
export async function lineClient(port: number, tls: ClientTlsOptions): Promise<LineClient> {
  return new LineClient(await connect({ host: "127.0.0.1", port, tls }));
}
