import type { Connection, ConnectionHandler, PeerIdentity } from "../net/mod.ts";
import { refusalReason } from "./refusal_reason.ts";
import type { Counter, DaemonMetrics } from "./registry.ts";

/** Options for {@linkcode NetMetrics}. */
export interface NetMetricsOptions {
  /** Reads the frames received where the service counts them itself. Default: `framesIn`. */
  framesIn?: () => number;
  /** Reads the frames sent where the service counts them itself. Default: `framesOut`. */
  framesOut?: () => number;
}

/**
 * The network metrics every daemon has: connections opened, open and refused
 * (by {@linkcode refusalReason}), bytes and frames in and out. Bytes are the
 * TCP socket's own counts (TLS records included), read at scrape time from
 * live connections plus the totals of closed ones.
 *
 * @example
 * ```ts
 * const net = new NetMetrics(new DaemonMetrics("search"));
 * await listen({ port: 0, onRefused: net.onRefused }, net.wrap(handler));
 * ```
 */
export class NetMetrics {
  /** Frames (objects, lines, queries, broker frames) received from peers; add to it. */
  framesIn = 0;
  /** Frames (replies, dates, acks, broker frames) sent to peers; add to it. */
  framesOut = 0;
  readonly #opened: Counter;
  readonly #refused: Counter<"reason">;
  readonly #live = new Set<Connection>();
  #closedIn = 0;
  #closedOut = 0;

  constructor(m: DaemonMetrics, options: NetMetricsOptions = {}) {
    this.#opened = m.counter("connections_opened_total", "Connections accepted");
    m.gauge("connections_open", "Connections open now", [], () => this.#live.size);
    this.#refused = m.counter(
      "connections_refused_total",
      "Connections refused, by reason",
      ["reason"],
    );
    m.counterFrom("bytes_received_total", "Bytes received from peers (TCP, TLS included)", () => {
      let n = this.#closedIn;
      for (const c of this.#live) n += c.transport.bytesRead ?? 0;
      return n;
    });
    m.counterFrom("bytes_sent_total", "Bytes sent to peers (TCP, TLS included)", () => {
      let n = this.#closedOut;
      for (const c of this.#live) n += c.transport.bytesWritten ?? 0;
      return n;
    });
    const framesIn = options.framesIn ?? (() => this.framesIn);
    const framesOut = options.framesOut ?? (() => this.framesOut);
    m.counterFrom("frames_received_total", "Frames received from peers", framesIn);
    m.counterFrom("frames_sent_total", "Frames sent to peers", framesOut);
  }

  /** Counts a refusal; pass as `ListenOptions.onRefused`. */
  readonly onRefused = (_peer: PeerIdentity | undefined, reason: string): void => {
    this.#refused.inc({ reason: refusalReason(reason) });
  };

  /** Counts one accepted connection and follows it until it closes. */
  track(conn: Connection): void {
    this.#opened.inc();
    this.#live.add(conn);
    conn.closed.then(() => {
      this.#live.delete(conn);
      this.#closedIn += conn.transport.bytesRead ?? 0;
      this.#closedOut += conn.transport.bytesWritten ?? 0;
    });
  }

  /** Wraps a connection handler so that every connection it gets is tracked. */
  wrap(handler: ConnectionHandler): ConnectionHandler {
    return (conn, signal) => {
      this.track(conn);
      return handler(conn, signal);
    };
  }
}
