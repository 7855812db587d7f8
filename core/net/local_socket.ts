import type { Socket } from "node:net";
import { Connection } from "./connection.ts";

/**
 * Wraps a connected local (Unix domain) `node:net` socket in a
 * {@linkcode Connection}, so local IPC sessions use the same seam as network
 * ones. The peer is reported as address `"local"`.
 */
export function localConnection(socket: Socket): Connection {
  socket.on("error", () => {}); // reported through Connection.error
  return new Connection(socket, { address: "local", port: 0, tls: false, authorized: false });
}
