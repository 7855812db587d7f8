/**
 * The datagram seam: a bound UDP socket that hands each received datagram
 * to a callback and sends datagrams without a promise per send for the
 * caller to keep. Services use this, never a raw UDP socket.
 *
 * Two backends: `Deno.listenDatagram` (needs the `net` unstable feature,
 * which deno.json turns on; it receives into one reused buffer and costs
 * about half the CPU per datagram of Deno's `node:dgram`), and `node:dgram`,
 * used when `Deno.listenDatagram` is not available.
 */
import dgram from "node:dgram";
import { isIPv6 } from "node:net";

/** Where a datagram came from or goes to. */
export interface DatagramPeer {
  readonly hostname: string;
  readonly port: number;
}

/** Which socket implementation to use. */
export type DatagramBackend = "deno" | "node";

/** Options for {@linkcode bindDatagram}. */
export interface BindDatagramOptions {
  /** Address to bind. Default `"0.0.0.0"`. */
  hostname?: string;
  /** Port; `0` picks a free one. Default `0`. */
  port?: number;
  /**
   * Called with each datagram (a copy the callback may keep) and its sender,
   * synchronously from the receive loop.
   */
  onMessage: (message: Uint8Array, from: DatagramPeer) => void;
  /** Called with errors of the socket after it is bound (failed sends). Default: ignored. */
  onError?: (err: Error) => void;
  /** Default: `"deno"` when `Deno.listenDatagram` is available, else `"node"`. */
  backend?: DatagramBackend;
}

/** A bound datagram socket. */
export interface DatagramSocket extends AsyncDisposable {
  /** The bound port. */
  readonly port: number;
  /** The backend in use. */
  readonly backend: DatagramBackend;
  /** Sends one datagram; a failure goes to `onError`. Does nothing after `close()`. */
  send(message: Uint8Array, to: DatagramPeer): void;
  /** Stops receiving and closes the socket. Idempotent. */
  close(): Promise<void>;
}

/** The backend {@linkcode bindDatagram} uses by default in this process. */
export function defaultDatagramBackend(): DatagramBackend {
  return typeof (Deno as { listenDatagram?: unknown }).listenDatagram === "function"
    ? "deno"
    : "node";
}

function bindError(hostname: string, port: number, err: unknown): Error {
  const inUse = err instanceof Deno.errors.AddrInUse ||
    (err as { code?: string } | null)?.code === "EADDRINUSE";
  const why = inUse
    ? "address already in use (another process holds it; pick another --port)"
    : err instanceof Error
    ? err.message
    : String(err);
  return new Error(`Cannot listen on UDP ${hostname}:${port}: ${why}`, { cause: err });
}

const MAX_DATAGRAM = 65536;

function bindDeno(o: BindDatagramOptions, hostname: string, port: number): DatagramSocket {
  let conn: Deno.DatagramConn;
  try {
    conn = Deno.listenDatagram({ transport: "udp", hostname, port });
  } catch (err) {
    throw bindError(hostname, port, err);
  }
  const bound = (conn.addr as Deno.NetAddr).port;
  const onError = o.onError ?? (() => {});
  const failed = (err: unknown) => {
    if (!closed) onError(err instanceof Error ? err : new Error(String(err)));
  };
  let closed = false;
  const loop = (async () => {
    const buffer = new Uint8Array(MAX_DATAGRAM);
    while (!closed) {
      let received: [Uint8Array, Deno.Addr];
      try {
        received = await conn.receive(buffer);
      } catch (err) {
        if (closed) return;
        // An ICMP error from an earlier send can surface here: keep receiving.
        failed(err);
        continue;
      }
      const [view, from] = received;
      o.onMessage(view.slice(), from as Deno.NetAddr);
    }
  })();
  const close = async () => {
    if (closed) return;
    closed = true;
    try {
      conn.close();
    } catch {
      // already closed
    }
    await loop;
  };
  return {
    port: bound,
    backend: "deno",
    send(message, to) {
      if (closed) return;
      conn.send(message, { transport: "udp", hostname: to.hostname, port: to.port }).catch(
        failed,
      );
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

async function bindNode(
  o: BindDatagramOptions,
  hostname: string,
  port: number,
): Promise<DatagramSocket> {
  const socket = dgram.createSocket({ type: isIPv6(hostname) ? "udp6" : "udp4" });
  await new Promise<void>((resolve, reject) => {
    const onBindError = (err: Error) => {
      socket.close();
      reject(bindError(hostname, port, err));
    };
    socket.once("error", onBindError);
    socket.bind(port, hostname, () => {
      socket.off("error", onBindError);
      resolve();
    });
  });
  let closed = false;
  socket.on("error", (err: Error) => {
    if (!closed) o.onError?.(err);
  });
  socket.on("message", (msg: Uint8Array, r: dgram.RemoteInfo) => {
    o.onMessage(new Uint8Array(msg), { hostname: r.address, port: r.port });
  });
  const bound = socket.address().port;
  let closing: Promise<void> | undefined;
  const close = () =>
    closing ??= new Promise<void>((resolve) => {
      closed = true;
      socket.close(() => resolve());
    });
  return {
    port: bound,
    backend: "node",
    send(message, to) {
      if (!closed) socket.send(message, to.port, to.hostname);
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

/**
 * Binds a UDP socket and starts receiving. Rejects with an error naming the
 * address (and what to do when it is in use) when it cannot bind.
 *
 * @example
 * ```ts
 * await using echo = await bindDatagram({
 *   hostname: "127.0.0.1",
 *   onMessage: (m, from) => echo.send(m, from),
 * });
 * console.log(echo.port);
 * ```
 */
export function bindDatagram(options: BindDatagramOptions): Promise<DatagramSocket> {
  const hostname = options.hostname ?? "0.0.0.0";
  const port = options.port ?? 0;
  const backend = options.backend ?? defaultDatagramBackend();
  if (backend === "deno") {
    if (defaultDatagramBackend() !== "deno") {
      return Promise.reject(
        new Error(
          'The "deno" datagram backend needs Deno.listenDatagram: run with --unstable-net (or "unstable": ["net"] in deno.json)',
        ),
      );
    }
    try {
      return Promise.resolve(bindDeno(options, hostname, port));
    } catch (err) {
      return Promise.reject(err);
    }
  }
  return bindNode(options, hostname, port);
}
