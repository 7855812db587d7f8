import { Duplex } from "node:stream";
import type { Socket } from "node:net";
import { Connection, type ConnectionPolicy } from "./connection.ts";
import type { PeerIdentity } from "./peer.ts";

/** Options for {@linkcode memoryPair}. */
export interface MemoryPairOptions {
  /** Identity the server side sees. Default: a plain `127.0.0.1:1` peer. */
  clientPeer?: Partial<PeerIdentity>;
  /** Policy of the server side. Default: none. */
  serverPolicy?: ConnectionPolicy;
}

/**
 * Two connected in-memory {@linkcode Connection}s (no sockets) for unit tests
 * of protocol sessions: what one side writes the other receives, `end()` is
 * EOF on the other side, `destroy()` closes both.
 *
 * @example
 * ```ts
 * const [client, server] = memoryPair();
 * server.receive({ data: (b) => server.send(b) });
 * client.send("hi");
 * ```
 */
export function memoryPair(
  options: MemoryPairOptions = {},
): [client: Connection, server: Connection] {
  const sides: Duplex[] = [];
  const side = (other: () => Duplex) =>
    new Duplex({
      // Like a TCP socket: EOF from the peer ends our side too, unless the policy keeps it open.
      allowHalfOpen: false,
      read() {},
      write(chunk: Uint8Array, _enc, cb) {
        other().push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
        cb();
      },
      final(cb) {
        other().push(null);
        cb();
      },
      destroy(err, cb) {
        const o = other();
        if (!o.destroyed) o.destroy();
        cb(err);
      },
    });
  const a = side(() => sides[1]!);
  const b = side(() => sides[0]!);
  sides.push(a, b);
  // No OS handle keeps the event loop alive for an in-memory pair: hold it while a side is open.
  const keepAlive = setInterval(() => {}, 60_000);
  let open = 2;
  for (const s of sides) s.once("close", () => void (--open === 0 && clearInterval(keepAlive)));
  const base: PeerIdentity = { address: "127.0.0.1", port: 1, tls: false, authorized: false };
  const serverSees: PeerIdentity = { ...base, ...options.clientPeer };
  const client = new Connection(a as unknown as Socket, { ...base, port: 2 });
  const server = new Connection(
    b as unknown as Socket,
    serverSees,
    undefined,
    options.serverPolicy,
  );
  return [client, server];
}
