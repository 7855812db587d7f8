import { type Logger, nullLogger } from "../log/mod.ts";
import {
  type Connection,
  describePeer,
  listen,
  PayloadTooLargeError,
  type PeerIdentity,
  type Server,
  type TlsMaterial,
} from "../net/mod.ts";
import { LineFramer } from "../net/framing/mod.ts";
import { type DaemonMetrics, NetMetrics, type Readiness } from "../metrics/mod.ts";
import { BroadcastTimer } from "./broadcast_timer.ts";
import { type DateFormat, formatDate } from "./date.ts";
import { type ChatMessage, encodeMessage } from "./message.ts";
import { reverseLine } from "./reverse.ts";

/** Options for {@linkcode startChatServer}. */
export interface ChatServerOptions {
  /** Address to bind. Default `"0.0.0.0"`. */
  host?: string;
  /** Port to bind; `0` picks a free one. */
  port: number;
  /** Server certificate and key, and the client allow-list for mutual TLS (PEM). */
  tls: TlsMaterial;
  /** Refuse clients without an allow-listed certificate. Default `false`. */
  requireClientCert?: boolean;
  /** Extra check after the handshake (revocation); return a reason to refuse. Default: accept. */
  authorize?: (peer: PeerIdentity) => string | undefined;
  /** Most clients served at once; one more gets an error line and is closed. Default 100. */
  maxClients?: number;
  /** Time between date broadcasts, ms. Default 10000. */
  periodMs?: number;
  /** `date` (`2026-11-24`) or `iso` timestamp. Default `"date"`. */
  dateFormat?: DateFormat;
  /** Send every message as a `{"msg_type":...,"payload":...}` JSON line. Default `false`. */
  json?: boolean;
  /** Longest line accepted from a client, bytes. Default 4096. */
  maxLineBytes?: number;
  /**
   * A client whose unsent output exceeds this many bytes (it stopped
   * reading) is skipped by the broadcast instead of buffering more. Default 65536.
   */
  maxBacklogBytes?: number;
  /**
   * Unread replies queued for one client, bytes; a client that keeps sending
   * without reading beyond this is closed, so the memory one connection can
   * hold stays bounded. Default 4 MiB.
   */
  maxPendingBytes?: number;
  /** How long `close()` waits for clients to take the going-away line, ms. Default 2000. */
  graceMs?: number;
  /** Clock for the broadcast date. Default `() => new Date()`. */
  now?: () => Date;
  /** Logger. Broadcast work is logged at debug. Default: silent. */
  logger?: Logger;
  /** Registers the servercli and network series here. Default: none. */
  daemonMetrics?: DaemonMetrics;
}

/** Counters a test or the bench can read. */
export interface ChatServerStats {
  /** Clients being served now. */
  clients: number;
  /** Broadcasts done since start. */
  broadcasts: number;
  /** Whether the broadcast timer is scheduled (only while clients > 0). */
  timerRunning: boolean;
  /** Clients turned away because the server was full. */
  refusedFull: number;
  /** Lines answered (reversed) since start. */
  linesEchoed: number;
  /** Dates sent since start (one per client per broadcast). */
  datesSent: number;
}

const encoder = new TextEncoder();
const strict = new TextDecoder("utf-8", { fatal: true });
const lenient = new TextDecoder("utf-8");

/**
 * Decodes one line. Invalid UTF-8 never throws: each bad sequence becomes
 * U+FFFD (the WHATWG replacement rule), and `invalid` says it happened.
 */
function decodeLine(bytes: Uint8Array): { text: string; invalid: boolean } {
  try {
    return { text: strict.decode(bytes), invalid: false };
  } catch {
    return { text: lenient.decode(bytes), invalid: true };
  }
}

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
    const handle = (conn: Connection, signal: AbortSignal) => this.#handle(conn, signal);
    this.#server = await listen({
      host: o.host ?? "0.0.0.0",
      port: o.port,
      tls: o.tls,
      requireClientCert: o.requireClientCert ?? false,
      ...(o.authorize ? { authorize: o.authorize } : {}),
      ...(this.#net ? { onRefused: this.#net.onRefused } : {}),
      logger: this.#log,
      graceMs: o.graceMs ?? 2000,
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
      if (!conn.socket.writable) continue; // closing: it already got its last line
      if (conn.socket.writableLength > maxBacklog) {
        skipped++;
        continue;
      }
      conn.socket.write(bytes);
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

  async #handle(conn: Connection, signal: AbortSignal): Promise<void> {
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
    const socket = conn.socket;
    const framer = new LineFramer({ maxLineBytes: this.#options.maxLineBytes ?? 4096 });
    const maxPending = this.#options.maxPendingBytes ?? 4 * 1024 * 1024;
    // Every line is answered as it arrives; the replies queue in the socket while
    // the client is slow to read them. The socket is not paused to push back:
    // under Deno 2.9 a paused node:tls socket keeps reading from the kernel into
    // an unbounded native buffer (measured: 2 GB from one client that sent and
    // never read). Instead a client with more than `maxPendingBytes` of unread
    // replies is closed, which bounds the memory one connection can hold.
    let stopped = false;
    const onData = (chunk: Uint8Array): void => {
      if (stopped) return;
      let out = "";
      try {
        framer.push(chunk, (line) => {
          const { text, invalid } = decodeLine(line);
          if (invalid) this.#log.debug("invalid UTF-8 replaced with U+FFFD", { peer });
          out += this.#encode({ type: "string", payload: reverseLine(text) });
          this.#linesEchoed++;
        });
      } catch (err) {
        stopped = true;
        if (!(err instanceof PayloadTooLargeError)) {
          // Never let one connection's failure escape into the event loop.
          this.#log.error("closing client: cannot answer its line", {
            peer,
            error: err instanceof Error ? err.message : String(err),
          });
          conn.destroy();
          return;
        }
        if (out !== "") socket.write(out);
        this.#log.warn("closing client: line too long", { peer, limit: err.limit });
        void this.#endWith(
          conn,
          `Line too long: more than ${err.limit} bytes without a newline (the limit is ${err.limit} bytes); closing the connection`,
        );
        return;
      }
      if (out === "") return;
      socket.write(out);
      if (socket.writableLength > maxPending) {
        stopped = true;
        this.#log.warn("closing client: it sends lines but does not read the replies", {
          peer,
          unreadBytes: socket.writableLength,
        });
        // It is not reading, so it would not see an error line: close at once.
        conn.destroy();
      }
    };
    socket.on("data", onData);
    try {
      await conn.closed;
    } finally {
      signal.removeEventListener("abort", onAbort);
      this.#clients.delete(conn);
      this.#timer.update(this.#clients.size);
    }
  }

  /** Writes one error line, half-closes, and destroys the socket if the peer lingers. */
  async #endWith(conn: Connection, error: string): Promise<void> {
    if (conn.socket.destroyed) return;
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
