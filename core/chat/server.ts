import { type Logger, nullLogger } from "../log/mod.ts";
import { type Connection, describePeer, listen, perAddressCap, type Server } from "../net/mod.ts";
import { NetMetrics, type Readiness } from "../metrics/mod.ts";
import { BroadcastTimer } from "./broadcast_timer.ts";
import { formatDate } from "./date.ts";
import { type ChatMessage, encodeMessage } from "./message.ts";
import type { ChatServerOptions, ChatServerStats } from "./server_options.ts";
import { answerLines } from "./_line_replies.ts";

const encoder = new TextEncoder();

/**
 * The servercli server: a TLS line server that answers each line reversed by
 * grapheme cluster and broadcasts the date to every client each period.
 * Create it with {@linkcode startChatServer}.
 */
export class ChatServer implements AsyncDisposable {
  readonly #options: ChatServerOptions;
  readonly #log: Logger;
  readonly #clients = new Set<Connection>();
  readonly #timer: BroadcastTimer;
  readonly #maxClients: number;
  #server: Server | undefined;
  #broadcasts = 0;
  #refusedFull = 0;
  #linesEchoed = 0;
  #datesSent = 0;
  #net: NetMetrics | undefined;
  #closing: Promise<void> | undefined;

  /** @internal Use {@linkcode startChatServer}. */
  constructor(options: ChatServerOptions) {
    this.#options = options;
    this.#log = options.logger ?? nullLogger;
    this.#maxClients = options.maxClients ?? 100;
    if (!Number.isSafeInteger(this.#maxClients) || this.#maxClients < 1) {
      throw new RangeError(`Invalid maxClients: expected an integer >= 1, got ${this.#maxClients}`);
    }
    this.#timer = new BroadcastTimer(() => this.broadcastDate(), {
      periodMs: options.periodMs ?? 10_000,
      logger: this.#log,
    });
  }

  /** @internal */
  async start(): Promise<void> {
    const o = this.#options;
    const m = o.daemonMetrics;
    if (m) {
      this.#net = new NetMetrics(m, {
        framesIn: () => this.#linesEchoed,
        framesOut: () => this.#linesEchoed + this.#datesSent,
      });
      m.counterFrom(
        "servercli_lines_echoed_total",
        "Lines answered reversed",
        () => this.#linesEchoed,
      );
      m.counterFrom(
        "servercli_dates_sent_total",
        "Dates sent (one per client per broadcast)",
        () => this.#datesSent,
      );
      m.counterFrom("servercli_broadcasts_total", "Date broadcasts", () => this.#broadcasts);
    }
    const handle = (conn: Connection, signal: AbortSignal) => this.serve(conn, signal);
    this.#server = await listen({
      host: o.host ?? "0.0.0.0",
      port: o.port,
      tls: o.tls,
      requireClientCert: o.requireClientCert ?? false,
      ...(o.authorize ? { authorize: o.authorize } : {}),
      ...(this.#net ? { onRefused: this.#net.onRefused } : {}),
      logger: this.#log,
      graceMs: o.graceMs ?? 2000,
      ...perAddressCap(o.maxPerAddress ?? 10, o.ipv6Prefix),
      capLoopback: o.capLoopback ?? false,
    }, this.#net ? this.#net.wrap(handle) : handle);
  }

  /** The bound port. */
  get port(): number {
    return this.#server!.port;
  }

  /** The bound address. */
  get host(): string {
    return this.#server!.host;
  }

  /** The TLS listener (for reloading its certificates). */
  get listener(): Server {
    return this.#server!;
  }

  /** Ready once listening, until it starts closing. */
  ready(): Readiness {
    if (this.#closing) return { ready: false, detail: "shutting down" };
    return { ready: true, detail: `serving ${this.#clients.size} of ${this.#maxClients} clients` };
  }

  /** Current counters. */
  get stats(): ChatServerStats {
    return {
      clients: this.#clients.size,
      broadcasts: this.#broadcasts,
      timerRunning: this.#timer.running,
      refusedFull: this.#refusedFull,
      linesEchoed: this.#linesEchoed,
      datesSent: this.#datesSent,
    };
  }

  #encode(message: ChatMessage): string {
    return encodeMessage(message, this.#options.json ?? false);
  }

  /**
   * Sends the current date to every client now (the timer calls this each
   * period). A client that stopped reading and has more than
   * `maxBacklogBytes` unsent is skipped. Logs `broadcast` at debug with the
   * client count, the start time (epoch ms) and how long the writes took.
   */
  broadcastDate(): void {
    const start = performance.now();
    const date = formatDate(
      this.#options.now?.() ?? new Date(),
      this.#options.dateFormat ?? "date",
    );
    const bytes = encoder.encode(this.#encode({ type: "date", payload: date }));
    const maxBacklog = this.#options.maxBacklogBytes ?? 65536;
    let sent = 0;
    let skipped = 0;
    for (const conn of this.#clients) {
      if (!conn.writable) continue; // closing: it already got its last line
      if (conn.unsent > maxBacklog) {
        skipped++;
        continue;
      }
      conn.send(bytes);
      sent++;
    }
    this.#broadcasts++;
    this.#datesSent += sent;
    if (this.#log.enabled("debug")) {
      const mem = Deno.memoryUsage();
      this.#log.debug("broadcast", {
        clients: sent,
        skipped,
        at: performance.timeOrigin + start,
        writeMs: Math.round((performance.now() - start) * 1000) / 1000,
        heapUsed: mem.heapUsed,
        rss: mem.rss,
      });
    }
  }

  /**
   * Serves one client connection until it closes (the listener calls this;
   * unit tests call it with an in-memory connection).
   */
  async serve(conn: Connection, signal: AbortSignal): Promise<void> {
    const peer = describePeer(conn.peer);
    if (this.#clients.size >= this.#maxClients) {
      this.#refusedFull++;
      this.#net?.onRefused(conn.peer, "server full (over the --max-clients cap)");
      this.#log.warn("refused client: server full", { peer, maxClients: this.#maxClients });
      await this.#endWith(
        conn,
        `Server full: ${this.#maxClients} ${
          this.#maxClients === 1 ? "client" : "clients"
        } connected, the limit is ${this.#maxClients} (try again later)`,
      );
      return;
    }
    if (signal.aborted) {
      await this.#endWith(conn, "Server is shutting down (going away)");
      return;
    }
    this.#clients.add(conn);
    this.#timer.update(this.#clients.size);
    const onAbort = () => void this.#endWith(conn, "Server is shutting down (going away)");
    signal.addEventListener("abort", onAbort, { once: true });
    const stopLines = answerLines(conn, {
      peer,
      log: this.#log,
      maxLineBytes: this.#options.maxLineBytes ?? 4096,
      lineTimeoutMs: this.#options.lineTimeoutMs ?? 30_000,
      maxPendingBytes: this.#options.maxPendingBytes ?? 4 * 1024 * 1024,
      encode: (message) => this.#encode(message),
      answered: () => {
        this.#linesEchoed++;
      },
      endWith: (error) => this.#endWith(conn, error),
    });
    try {
      await conn.closed;
    } finally {
      stopLines();
      signal.removeEventListener("abort", onAbort);
      this.#clients.delete(conn);
      this.#timer.update(this.#clients.size);
    }
  }

  /** Writes one error line, half-closes, and destroys the socket if the peer lingers. */
  async #endWith(conn: Connection, error: string): Promise<void> {
    if (!conn.writable) return;
    const timer = setTimeout(() => conn.destroy(), this.#options.graceMs ?? 2000);
    try {
      await conn.end(this.#encode({ type: "error", payload: error }));
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Graceful shutdown: stop accepting, send every client a going-away error
   * line and close it, stop the timer. Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await this.#server?.close();
      this.#timer.stop();
    })();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/**
 * Starts the servercli server on `options.host:options.port` over TLS.
 *
 * @example
 * ```ts
 * await using server = await startChatServer({ port: 0, tls, periodMs: 1000 });
 * console.log(server.port);
 * ```
 */
export async function startChatServer(options: ChatServerOptions): Promise<ChatServer> {
  const server = new ChatServer(options);
  await server.start();
  return server;
}
