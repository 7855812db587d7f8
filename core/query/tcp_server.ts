/**
 * The TCP (optionally TLS) side: one request per connection, read up to the
 * first `\n` (or the client's half-close), answered with the reply (header
 * and payload, nothing after), then closed.
 */
import {
  type Connection,
  describePeer,
  listen,
  perAddressCap,
  type Server,
  type TlsMaterial,
} from "../net/mod.ts";
import { type Logger, nullLogger } from "../log/mod.ts";
import type { NetMetrics } from "../metrics/mod.ts";
import type { Answerer } from "./answerer.ts";
import { encodeMessage, Encryption, errorPayload, Representation, withoutLineEnd } from "./wire.ts";

/** Options for {@linkcode serveTcp}. */
export interface TcpServeOptions {
  /** Address to bind. Default `"0.0.0.0"`. */
  host?: string;
  /** Port; `0` picks a free one. */
  port: number;
  /** TLS material; without it the listener is plain TCP. */
  tls?: TlsMaterial;
  /** Largest request, bytes including the header. Default 1 MiB. */
  maxRequestBytes?: number;
  /**
   * Connections at once (live and in handshake) from one IP address, loopback
   * exempt; one more is closed at once and logged. 0 = no cap. Default 64.
   */
  maxPerAddress?: number;
  /** IPv6 addresses count against `maxPerAddress` by their first this many bits. Default 64. */
  ipv6Prefix?: number;
  /**
   * Close a connection after this many ms without progress in either direction
   * (no request byte received, no reply byte taken by the client). Default 10000.
   */
  idleTimeoutMs?: number;
  /** How long `close()` waits for requests in progress, ms. Default 5000. */
  graceMs?: number;
  /** Logger. Default: silent. */
  logger?: Logger;
  /** Counts connections, refusals and bytes. Default: none. */
  net?: NetMetrics;
}

const NL = 0x0a;

/**
 * Reads one request: the bytes up to the first `\n`, or to the client's
 * half-close. Reading pauses once it is complete. The bytes are gathered in
 * one buffer that doubles as it fills (at most twice `limit`), so a client
 * that sends its request a byte per packet costs the request's size, not an
 * array object per packet.
 */
export function readRequest(conn: Connection, limit: number): Promise<Uint8Array | "too-large"> {
  return new Promise((resolve) => {
    let buffer = new Uint8Array(0);
    let size = 0;
    let done = false;
    const finish = (result: Uint8Array | "too-large") => {
      if (done) return;
      done = true;
      conn.pause();
      resolve(result);
    };
    const onEnd = () => finish(withoutLineEnd(buffer.subarray(0, size)));
    conn.receive({
      data: (chunk) => {
        if (done) return;
        const nl = chunk.indexOf(NL);
        const part = nl >= 0 ? chunk.subarray(0, nl) : chunk;
        if (size + part.length > limit) return finish("too-large");
        if (size + part.length > buffer.length) {
          const grown = new Uint8Array(Math.max(size + part.length, buffer.length * 2, 256));
          grown.set(buffer.subarray(0, size));
          buffer = grown;
        }
        buffer.set(part, size);
        size += part.length;
        if (nl >= 0) onEnd();
      },
      end: onEnd,
    });
    void conn.closed.then(onEnd);
  });
}

/**
 * Listens for TCP (or TLS) requests and answers each through `answerer`.
 *
 * @example
 * ```ts
 * await using tcp = await serveTcp(answerer, { port: 9000 });
 * ```
 */
export function serveTcp(answerer: Answerer, options: TcpServeOptions): Promise<Server> {
  const limit = options.maxRequestBytes ?? 1024 * 1024;
  const idle = options.idleTimeoutMs ?? 10000;
  const listenOptions = {
    port: options.port,
    graceMs: options.graceMs ?? 5000,
    ...(options.host !== undefined ? { host: options.host } : {}),
    ...(options.tls !== undefined ? { tls: options.tls } : {}),
    ...(options.logger !== undefined ? { logger: options.logger } : {}),
    ...(options.net ? { onRefused: options.net.onRefused } : {}),
    ...perAddressCap(options.maxPerAddress, options.ipv6Prefix),
    // Idle means no progress either way: a slow reader of a large reply is not idle.
    policy: { idleTimeoutMs: idle, allowHalfOpen: true, maxUnsentBytes: Infinity },
  };
  const log = options.logger ?? nullLogger;
  /** Ends with the reply; a reply not delivered whole is logged (the client sees the connection cut). */
  const reply = async (conn: Connection, message: Uint8Array) => {
    await conn.end(message);
    if (!conn.delivered) {
      log.warn("reply not delivered whole: the connection ended first", {
        peer: describePeer(conn.peer),
        bytes: message.length,
        reason: conn.closeReason ?? "the client closed the connection",
      });
    }
  };
  const handler = async (conn: Connection) => {
    const request = await readRequest(conn, limit);
    if (request === "too-large") {
      const header = { encryption: Encryption.plain, representation: Representation.text };
      const msg = `Request too large: more than ${limit} bytes before the newline`;
      await reply(conn, encodeMessage(header, errorPayload(header.representation, msg)));
      return;
    }
    if (request.length === 0 && !conn.writable) return;
    await reply(conn, await answerer.answer(request, "tcp", describePeer(conn.peer)));
  };
  return listen(listenOptions, options.net ? options.net.wrap(handler) : handler);
}
