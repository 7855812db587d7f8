import * as net from "node:net";

type TcpWrap = { openFromRid(rid: number): number };
type TcpWrapClass = new (type: number) => TcpWrap;

let tcpWrap: Promise<TcpWrapClass> | undefined;
/** The class, once {@linkcode prepareTcpHandles} found it. */
let tcpWrapReady: TcpWrapClass | undefined;

/**
 * Deno's native `node:net` TCP handle class, taken once from a throwaway
 * listener on a free loopback port (it is not exported).
 */
function tcpWrapClass(): Promise<TcpWrapClass> {
  tcpWrap ??= new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const ctor = (probe as unknown as { _handle?: { constructor: unknown } })._handle
        ?.constructor;
      probe.close();
      if (typeof ctor !== "function" || !("openFromRid" in (ctor as TcpWrapClass).prototype)) {
        reject(
          new Error(
            "Cannot wrap accepted TCP connections: this Deno has no TCPWrap.openFromRid (use the pinned Deno 2.9)",
          ),
        );
      } else resolve(ctor as TcpWrapClass);
    });
  });
  return tcpWrap;
}

/** Loads the handle class ahead of the first accept (listen calls it). */
export async function prepareTcpHandles(): Promise<void> {
  tcpWrapReady = await tcpWrapClass();
}

function ridOf(conn: Deno.Conn): number {
  const sym = Object.getOwnPropertySymbols(conn).find((s) => s.description === "Deno.internal.rid");
  const rid = sym ? (conn as unknown as Record<symbol, unknown>)[sym] : undefined;
  if (typeof rid !== "number") {
    throw new Error(
      "Cannot wrap an accepted TCP connection: no resource id (use the pinned Deno 2.9)",
    );
  }
  return rid;
}

/**
 * The duplicate of an accepted connection's descriptor could not be made
 * (Deno gives a bare status): with a valid descriptor, `dup` fails only when
 * the process is out of file descriptors. The connection was closed.
 */
export class DescriptorDupError extends Error {
  constructor(readonly status: number) {
    super(
      `Cannot take an accepted TCP connection: duplicating its descriptor failed (status ${status}; the process is out of file descriptors, and each connection holds two); it was closed`,
    );
    this.name = "DescriptorDupError";
  }
}

/**
 * Turns a connection accepted by `Deno.listen` into a `node:net` socket on
 * the same native handle, so `node:tls` can wrap it and `readStop()` works on
 * it. The accept loop itself stays on `Deno.listen`, whose `accept()` reports
 * EMFILE and keeps working afterwards (Deno 2.9's `node:net` server stops
 * accepting for good after EMFILE, silently). Synchronous, after
 * {@linkcode prepareTcpHandles}: a duplicate that fails is known before the
 * accept loop decides whether to back off before its next accept.
 */
export function nodeSocketOf(conn: Deno.Conn, onClose?: () => void): net.Socket {
  const Wrap = tcpWrapReady;
  if (!Wrap) {
    conn.close();
    throw new Error(
      "Cannot wrap an accepted TCP connection before prepareTcpHandles() resolved (the listener calls it before accepting)",
    );
  }
  const handle = new Wrap(0 /* SOCKET */);
  const status = handle.openFromRid(ridOf(conn));
  if (status !== 0) {
    conn.close();
    throw new DescriptorDupError(status);
  }
  const socket = new net.Socket({ handle } as unknown as net.SocketConstructorOpts);
  // The handle has a duplicate of the descriptor of `conn`, whose resource stays
  // open until the socket closes: closing it earlier would shut the connection
  // down. It costs a second descriptor per connection (see docs/performance.md).
  socket.on("close", () => {
    try {
      conn.close();
    } catch { /* already closed */ }
    onClose?.();
  });
  return socket;
}
