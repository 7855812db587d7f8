import { settlesWithin } from "../async/mod.ts";
import type { Logger } from "../log/mod.ts";
import type { Connection } from "./connection.ts";
import { errorText } from "../log/mod.ts";

/** Handles one accepted connection; the signal aborts when the server starts closing. */
export type ConnectionHandler = (conn: Connection, signal: AbortSignal) => Promise<void> | void;

/**
 * The connections of one server and their handlers: one handler per
 * connection, run without awaiting it, its errors logged (and the connection
 * destroyed); a close that signals the handlers, waits for them up to a
 * grace period, then destroys what is left. Shared by the TCP/TLS and the
 * local (Unix socket) listener.
 */
export class ConnectionTracker {
  readonly #handler: ConnectionHandler;
  readonly #log: Logger;
  readonly #connections = new Set<Connection>();
  readonly #tasks = new Set<Promise<void>>();
  readonly #abort = new AbortController();

  constructor(handler: ConnectionHandler, log: Logger) {
    this.#handler = handler;
    this.#log = log;
  }

  /** Live connections. */
  get connections(): ReadonlySet<Connection> {
    return this.#connections;
  }

  /** Aborts when the server starts closing. */
  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  /** Tracks `conn` until it closes and runs the handler on it; `label` names the peer in logs. */
  run(conn: Connection, label: string): void {
    this.#connections.add(conn);
    const task = (async () => {
      try {
        await this.#handler(conn, this.#abort.signal);
      } catch (err) {
        this.#log.error("connection handler failed", {
          peer: label,
          error: errorText(err),
        });
        conn.destroy();
      }
    })();
    this.#tasks.add(task);
    conn.closed.then(() => {
      this.#connections.delete(conn);
      if (conn.closeReason !== undefined) {
        this.#log.info("closed client", { peer: label, reason: conn.closeReason });
      }
      this.#log.debug("client disconnected", { peer: label, error: conn.error });
    });
    task.finally(() => this.#tasks.delete(task));
  }

  /**
   * Aborts the handlers' signal, waits for the handlers (up to `graceMs`),
   * destroys the connections left and waits until they have closed.
   */
  async close(graceMs: number): Promise<void> {
    this.#abort.abort();
    await settlesWithin(Promise.allSettled([...this.#tasks]), graceMs);
    for (const c of this.#connections) c.destroy();
    await Promise.allSettled([...this.#connections].map((c) => c.closed));
  }
}
