/**
 * The UDP side, over core/net's datagram seam: each datagram is one
 * request (a `\n` ending it is the terminator, removed), answered with one
 * datagram.
 */
import { bindDatagram, type DatagramBackend, type DatagramSocket } from "../net/mod.ts";
import { type Logger, nullLogger } from "../log/mod.ts";
import type { Answerer } from "./answerer.ts";
import { settlesWithin } from "../async/mod.ts";
import { withoutLineEnd } from "./wire.ts";

/** Options for {@linkcode UdpServer.bind}. */
export interface UdpServeOptions {
  /** Address to bind. Default `"0.0.0.0"`. */
  host?: string;
  /** Port; `0` picks a free one. */
  port: number;
  /** How long `close()` waits for requests in progress, ms. Default 5000. */
  graceMs?: number;
  /** Socket implementation. Default: the seam's (see `bindDatagram`). */
  backend?: DatagramBackend;
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
  #socket!: DatagramSocket;
  readonly #options: UdpServeOptions;
  #active = 0;
  #idle: (() => void) | undefined;
  #closing: Promise<void> | undefined;

  private constructor(options: UdpServeOptions) {
    this.#options = options;
  }

  /** Binds the socket and starts answering. */
  static async bind(answerer: Answerer, options: UdpServeOptions): Promise<UdpServer> {
    const log = options.logger ?? nullLogger;
    const server = new UdpServer(options);
    const done = () => {
      if (--server.#active === 0) server.#idle?.();
    };
    server.#socket = await bindDatagram({
      hostname: options.host ?? "0.0.0.0",
      port: options.port,
      ...(options.backend ? { backend: options.backend } : {}),
      onError: (err) => log.warn("UDP socket error", { error: err.message }),
      onMessage: (message, from) => {
        if (server.#closing) return;
        server.#active++;
        answerer.answerTo(
          withoutLineEnd(message),
          "udp",
          () => `${from.hostname}:${from.port}`,
          (reply) => {
            server.#socket.send(reply, from);
            done();
          },
        );
      },
    });
    return server;
  }

  /** The bound port. */
  get port(): number {
    return this.#socket.port;
  }

  /** Stops receiving, waits for requests in progress (up to `graceMs`), closes. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      const drained = this.#active === 0
        ? Promise.resolve()
        : new Promise<void>((r) => this.#idle = r);
      await settlesWithin(drained, this.#options.graceMs ?? 5000);
      await this.#socket.close();
    })();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
