/**
 * The UDP side, over core/net's datagram seam: each datagram is one
 * request (a `\n` ending it is the terminator, removed), answered with at
 * most one datagram (see `_udp_guard.ts` for those left unanswered).
 */
import {
  addressGroup,
  bindDatagram,
  canonicalAddress,
  type DatagramBackend,
  type DatagramPeer,
  type DatagramSocket,
  DEFAULT_IPV6_PREFIX,
  hostPort,
  isLoopback,
} from "../net/mod.ts";
import { LogBudget, type Logger, nullLogger } from "../log/mod.ts";
import type { Answerer, ReplyKind } from "./answerer.ts";
import { settlesWithin } from "../async/mod.ts";
import { withoutLineEnd } from "./wire.ts";
import {
  type DropReason,
  EPHEMERAL_FROM,
  localAddresses,
  ReplyLimit,
  type ReplyLimitOptions,
  sourceDropReason,
} from "./_udp_guard.ts";

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
  /** Logger: dropped datagrams at warn, 10 lines per 10 s at most. Default: silent. */
  logger?: Logger;
  /** Counts each datagram left unanswered, by reason (the metrics). Default: none. */
  onDrop?: (reason: DropReason) => void;
  /** The per-source error reply limit. Default: 50 per second per source address. */
  errorReplies?: ReplyLimitOptions;
  /**
   * The limit on replies of any kind to a source sending from a service port
   * (below {@linkcode EPHEMERAL_FROM}), per address and port. Default 100 per second.
   */
  servicePortReplies?: ReplyLimitOptions;
  /**
   * The limit on replies of any kind to one remote (not loopback) source
   * address; `false`: no limit. Default 2,000 per second.
   */
  remoteReplies?: ReplyLimitOptions | false;
  /**
   * The limit on reply bytes a second to one remote (not loopback) source
   * address (`perWindow` in bytes): a forged source must not turn small
   * requests into a flood of large replies towards a victim; `false`: no
   * limit. Default {@linkcode REMOTE_REPLY_BYTES} a second.
   */
  remoteReplyBytes?: ReplyLimitOptions | false;
  /**
   * The two remote limits count an IPv6 source by its first this many bits
   * (a forged flood spread over a victim's /64 still meets one limit).
   * Default {@linkcode DEFAULT_IPV6_PREFIX}; 128 counts each address apart.
   */
  ipv6Prefix?: number;
}

/** Default reply bytes a second to one remote source address (1 MiB). */
export const REMOTE_REPLY_BYTES = 1024 * 1024;

const DROPPED = "UDP datagram not answered";

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
  #drops: LogBudget | undefined;

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
    const local = localAddresses();
    const limit = new ReplyLimit(options.errorReplies);
    const servicePort = new ReplyLimit({ perWindow: 100, ...options.servicePortReplies });
    const remote = options.remoteReplies === false
      ? undefined
      : new ReplyLimit({ perWindow: 2000, ...options.remoteReplies });
    const remoteBytes = options.remoteReplyBytes === false
      ? undefined
      : new ReplyLimit({ perWindow: REMOTE_REPLY_BYTES, ...options.remoteReplyBytes });
    const prefix = options.ipv6Prefix ?? DEFAULT_IPV6_PREFIX;
    /** Why no reply of `kind` may go to `from` now, or `undefined`. */
    const refusalOf = (
      kind: ReplyKind,
      from: DatagramPeer,
      bytes: number,
    ): DropReason | undefined => {
      if (kind === "unreadable") return "unreadable";
      const address = canonicalAddress(from.hostname);
      if (kind === "error" && !limit.take(address)) return "error_rate";
      if (from.port < EPHEMERAL_FROM && !servicePort.take(`${address}:${from.port}`)) {
        return "service_port_rate";
      }
      if ((remote || remoteBytes) && !isLoopback(address)) {
        const source = addressGroup(address, prefix);
        if (remoteBytes && !remoteBytes.take(source, bytes)) return "source_bytes";
        if (remote && !remote.take(source)) return "source_rate";
      }
      return undefined;
    };
    const drops = server.#drops = new LogBudget({
      onSummary: (n) => log.warn(DROPPED, { not_logged: n }),
    });
    const drop = (reason: DropReason, from: DatagramPeer) => {
      options.onDrop?.(reason);
      const skipped = drops.take();
      if (skipped === undefined) return;
      log.warn(DROPPED, {
        peer: hostPort(from.hostname, from.port),
        reason,
        ...(skipped > 0 ? { not_logged: skipped } : {}),
      });
    };
    server.#socket = await bindDatagram({
      hostname: options.host ?? "0.0.0.0",
      port: options.port,
      ...(options.backend ? { backend: options.backend } : {}),
      onError: (err) => log.warn("UDP socket error", { error: err.message }),
      onMessage: (message, from) => {
        if (server.#closing) return;
        const refused = sourceDropReason(from, server.#socket.port, local);
        if (refused !== undefined) return drop(refused, from);
        server.#active++;
        answerer.answerTo(
          withoutLineEnd(message),
          "udp",
          () => hostPort(from.hostname, from.port),
          (reply, kind) => {
            const refusal = refusalOf(kind, from, reply.length);
            if (refusal !== undefined) drop(refusal, from);
            else server.#socket.send(reply, from);
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
      this.#drops?.close();
    })();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
