import type { Socket } from "node:net";
import { Connection, type ConnectionPolicy } from "./connection.ts";

/**
 * Wraps a connected local (Unix domain) `node:net` socket in a
 * {@linkcode Connection}, so local IPC sessions use the same seam as network
 * ones (pause stops reading the socket, writes honour drain, `end()`
 * delivers what was written). The peer is reported as address `"local"`.
 */
export function localConnection(socket: Socket, policy?: ConnectionPolicy): Connection {
  return new Connection(
    socket,
    { address: "local", port: 0, tls: false, authorized: false },
    undefined,
    policy,
  );
}
