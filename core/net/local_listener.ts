import * as net from "node:net";
import { type Logger, nullLogger } from "../log/mod.ts";
import type { Connection, ConnectionPolicy } from "./connection.ts";
import { type ConnectionHandler, ConnectionTracker } from "./_tracker.ts";
import { localConnection } from "./_local_connection.ts";

/** Options for {@linkcode listenLocal}. */
export interface LocalListenOptions {
  /** Path of the socket file. A stale one (nobody listening) is replaced. */
  path: string;
  /** File mode of the socket. Default `0o600` (only the owner may connect). */
  mode?: number;
  /** Logger for accept errors and handler failures. Default: silent. */
  logger?: Logger;
  /** How long `close()` waits for handlers to finish before destroying connections, ms. Default 5000. */
  graceMs?: number;
  /** The connection policy (idle timeout, unsent-bytes cap) for every connection. */
  policy?: ConnectionPolicy;
  /**
   * Most connections open at once; one more is closed at once and logged at
   * warn. Default {@linkcode DEFAULT_MAX_LOCAL_CONNECTIONS}.
   */
  maxConnections?: number;
}

/** The default cap on a local listener's open connections. */
export const DEFAULT_MAX_LOCAL_CONNECTIONS = 256;

/** Another live process already listens on a local socket path. */
export class LocalSocketInUseError extends Error {
  override name = "LocalSocketInUseError";
  constructor(
    /** The socket path. */
    readonly path: string,
  ) {
    super(`Cannot listen on the local socket "${path}": another process is listening there`);
  }
}

/**
 * A listening local (Unix domain) socket: one handler per connection, each a
 * {@linkcode Connection} like a network one (peer address `"local"`), at
 * most `maxConnections` at once.
 * {@linkcode LocalServer.close} stops accepting, aborts the handlers'
 * signal, waits for them (up to `graceMs`), destroys what is left and
 * removes the socket file.
 */
export class LocalServer implements AsyncDisposable {
  /** Path of the socket file. */
  readonly path: string;
  readonly #server: net.Server;
  readonly #tracker: ConnectionTracker;
  readonly #graceMs: number;
  #closing: Promise<void> | undefined;

  /** @internal Use {@linkcode listenLocal}. */
  constructor(options: LocalListenOptions, server: net.Server, handler: ConnectionHandler) {
    this.path = options.path;
    this.#server = server;
    this.#graceMs = options.graceMs ?? 5000;
    const log = options.logger ?? nullLogger;
    const cap = options.maxConnections ?? DEFAULT_MAX_LOCAL_CONNECTIONS;
    this.#tracker = new ConnectionTracker(handler, log);
    server.on("connection", (socket: net.Socket) => {
      if (this.#tracker.signal.aborted) {
        socket.destroy();
        return;
      }
      if (this.#tracker.connections.size >= cap) {
        socket.destroy();
        log.warn("refused local client: too many connections", {
          path: this.path,
          reason:
            `${cap} connections open, the cap is ${cap} (an app should close the ones it no longer uses)`,
        });
        return;
      }
      this.#tracker.run(localConnection(socket, options.policy), `local ${this.path}`);
    });
    server.on("error", (err: Error) => {
      log.error("local socket error", { path: this.path, error: err.message });
    });
  }

  /** Live connections. */
  get connections(): ReadonlySet<Connection> {
    return this.#tracker.connections;
  }

  /** Aborts when the server starts closing. */
  get signal(): AbortSignal {
    return this.#tracker.signal;
  }

  /** Graceful close, then removes the socket file. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      const stopped = new Promise<void>((r) => this.#server.close(() => r()));
      await this.#tracker.close(this.#graceMs);
      await stopped;
      try {
        Deno.removeSync(this.path);
      } catch { /* gone */ }
    })();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/**
 * Listens on a local (Unix domain) socket at `options.path` with file mode
 * `options.mode` (the file is created under a umask, so it is never open
 * wider), replacing a stale socket file, and runs `handler` for every
 * connection. Throws {@linkcode LocalSocketInUseError} when a live process
 * listens there.
 *
 * @example
 * ```ts
 * await using server = await listenLocal({ path: "state/app.sock" }, async (conn) => {
 *   for await (const chunk of conn.readable()) await conn.write(chunk);
 * });
 * ```
 */
export async function listenLocal(
  options: LocalListenOptions,
  handler: ConnectionHandler,
): Promise<LocalServer> {
  const path = options.path;
  const cap = options.maxConnections ?? DEFAULT_MAX_LOCAL_CONNECTIONS;
  if (!Number.isSafeInteger(cap) || cap < 1) {
    throw new RangeError(`Invalid maxConnections: expected an integer >= 1, got ${cap}`);
  }
  if (await isLive(path)) throw new LocalSocketInUseError(path);
  try {
    Deno.removeSync(path);
  } catch { /* not there */ }
  const raw = net.createServer({ pauseOnConnect: false });
  const server = new LocalServer(options, raw, handler);
  const mode = options.mode ?? 0o600;
  const oldMask = Deno.umask?.(0o777 & ~mode);
  try {
    await new Promise<void>((resolve, reject) => {
      raw.once("error", reject);
      raw.listen(path, () => {
        raw.off("error", reject);
        resolve();
      });
    });
  } catch (err) {
    throw new Error(`Cannot listen on the local socket "${path}": ${(err as Error).message}`, {
      cause: err,
    });
  } finally {
    if (oldMask !== undefined) Deno.umask(oldMask);
  }
  Deno.chmodSync(path, mode);
  return server;
}

/** Whether a process accepts connections on the socket at `path`. */
function isLive(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(path);
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}
