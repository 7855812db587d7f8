import * as net from "node:net";
import type { Connection } from "./connection.ts";
import { localConnection } from "./_local_connection.ts";

/** A local (Unix domain) socket could not be connected to. */
export class LocalConnectError extends Error {
  override name = "LocalConnectError";
  constructor(
    /** The socket path. */
    readonly path: string,
    /** Why, without the path (the system's message). */
    readonly reason: string,
    /** The system error code (`ENOENT`, `ECONNREFUSED`, `EACCES`), when there is one. */
    readonly code: string | undefined,
    options?: ErrorOptions,
  ) {
    super(`Cannot connect to the local socket "${path}": ${reason}`, options);
  }

  /** Whether nobody listens there (no socket file, or a stale one). */
  get noListener(): boolean {
    return this.code === "ENOENT" || this.code === "ECONNREFUSED";
  }
}

/** Options for {@linkcode connectLocal}. */
export interface LocalConnectOptions {
  /** Give up after this many ms. Default 10000. */
  timeoutMs?: number;
}

/**
 * Connects to a local (Unix domain) socket and resolves with a
 * {@linkcode Connection} (peer address `"local"`); rejects with
 * {@linkcode LocalConnectError}.
 *
 * @example
 * ```ts
 * await using conn = await connectLocal("state/app.sock");
 * await conn.write("hello");
 * ```
 */
export function connectLocal(path: string, options: LocalConnectOptions = {}): Promise<Connection> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  return new Promise((resolve, reject) => {
    const s = net.connect(path);
    const timer = setTimeout(() => {
      s.destroy();
      reject(new LocalConnectError(path, `no answer within ${timeoutMs} ms`, "ETIMEDOUT"));
    }, timeoutMs);
    const onError = (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      const reason = err.code === "ENOENT"
        ? "no such socket file"
        : err.code === "ECONNREFUSED"
        ? "nobody is listening there (a stale socket file)"
        : err.message;
      reject(new LocalConnectError(path, reason, err.code, { cause: err }));
    };
    s.once("error", onError);
    s.once("connect", () => {
      clearTimeout(timer);
      s.off("error", onError);
      resolve(localConnection(s));
    });
  });
}
