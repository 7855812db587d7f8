/**
 * The UDP side (`node:dgram`, which Deno 2.9 supports without unstable
 * flags): each datagram is one request, answered with one datagram.
 */
import dgram from "node:dgram";
import { isIPv6 } from "node:net";
import { type Logger, nullLogger } from "../log/mod.ts";
import type { Answerer } from "./answerer.ts";
import { settlesWithin } from "../async/mod.ts";

/** Options for {@linkcode UdpServer.bind}. */
export interface UdpServeOptions {
  /** Address to bind. Default `"0.0.0.0"`. */
  host?: string;
  /** Port; `0` picks a free one. */
  port: number;
  /** How long `close()` waits for requests in progress, ms. Default 5000. */
  graceMs?: number;
  /** Logger. Default: silent. */
  logger?: Logger;
}

/**
 * A bound UDP socket answering every datagram through an {@linkcode Answerer}.
 *
 * @example
 * ```ts
 * await using udp = await UdpServer.bind(answerer, { port: 9000 });
 * ```
 */
export class UdpServer implements AsyncDisposable {
  readonly #socket: dgram.Socket;
  readonly #options: UdpServeOptions;
  #active = 0;
  #idle: (() => void) | undefined;
  #closing: Promise<void> | undefined;

  private constructor(socket: dgram.Socket, options: UdpServeOptions) {
    this.#socket = socket;
    this.#options = options;
  }

  /** Binds the socket and starts answering. */
  static async bind(answerer: Answerer, options: UdpServeOptions): Promise<UdpServer> {
    const host = options.host ?? "0.0.0.0";
    const log = options.logger ?? nullLogger;
    const socket = dgram.createSocket({ type: isIPv6(host) ? "udp6" : "udp4" });
    const server = new UdpServer(socket, options);
    await new Promise<void>((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException) => {
        socket.close();
        const why = err.code === "EADDRINUSE"
          ? "address already in use (another process holds it; pick another --port)"
          : err.message;
        reject(new Error(`Cannot listen on UDP ${host}:${options.port}: ${why}`, { cause: err }));
      };
      socket.once("error", onError);
      socket.bind(options.port, host, () => {
        socket.off("error", onError);
        resolve();
      });
    });
    socket.on("error", (err: Error) => log.warn("UDP socket error", { error: err.message }));
    socket.on("message", (msg: Uint8Array, rinfo: dgram.RemoteInfo) => {
      if (server.#closing) return;
      server.#active++;
      answerer.answer(msg, "udp", `${rinfo.address}:${rinfo.port}`).then(
        (reply) => socket.send(reply, rinfo.port, rinfo.address),
        (err) => log.error("UDP request failed", { error: String(err) }),
      ).finally(() => {
        if (--server.#active === 0) server.#idle?.();
      });
    });
    return server;
  }

  /** The bound port. */
  get port(): number {
    return this.#socket.address().port;
  }

  /** Stops receiving, waits for requests in progress (up to `graceMs`), closes. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      const drained = this.#active === 0
        ? Promise.resolve()
        : new Promise<void>((r) => this.#idle = r);
      await settlesWithin(drained, this.#options.graceMs ?? 5000);
      await new Promise<void>((resolve) => this.#socket.close(() => resolve()));
    })();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
