import { Duplex } from "node:stream";
import type { Socket } from "node:net";
import { Connection } from "../../core/net/mod.ts";

/** A {@linkcode Connection} whose peer does not read, from {@linkcode stalledConnection}. */
export interface StalledConnection {
  conn: Connection;
  /** Delivers `bytes` to `conn` as if the peer had sent them. */
  input(bytes: Uint8Array): void;
  /** The peer takes everything written so far (and later writes, until it stalls again). */
  release(): void;
  /** Bytes the peer has taken. */
  taken(): number;
}

/**
 * An in-memory connection whose peer takes written bytes only when
 * `release()` is called, so writes pile up in `conn.unsent` past the high
 * water mark: a reader that does not read, without a socket. (The
 * `memoryPair` peer takes every write at once, so it never pushes back.)
 */
export function stalledConnection(highWaterMark: number): StalledConnection {
  const held: Array<() => void> = [];
  let taken = 0;
  let flowing = false;
  const socket = new Duplex({
    writableHighWaterMark: highWaterMark,
    read() {},
    write(chunk: Uint8Array, _enc, cb) {
      const take = () => {
        taken += chunk.length;
        cb();
      };
      if (flowing) take();
      else held.push(take);
    },
  });
  const conn = new Connection(socket as unknown as Socket, {
    address: "127.0.0.1",
    port: 1,
    tls: false,
    authorized: false,
  });
  return {
    conn,
    input: (bytes) => void socket.push(bytes),
    release: () => {
      flowing = true;
      while (held.length > 0) held.shift()!();
    },
    taken: () => taken,
  };
}
