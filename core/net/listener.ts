import type * as net from "node:net";
import { errorText, LogBudget, type Logger, nullLogger } from "../log/mod.ts";
import { Connection } from "./connection.ts";
import { acceptLoop, AcceptTrouble } from "./accept_loop.ts";
import { type ConnectionHandler, ConnectionTracker } from "./_tracker.ts";
import { DescriptorDupError, nodeSocketOf, prepareTcpHandles } from "./_tcp_handle.ts";
import { describePeer, type PeerIdentity, peerOf } from "./peer.ts";
import type { ListenOptions, RefusalKind, TlsMaterial } from "./listen_options.ts";
import { AddressCaps, checkPeer } from "./_admission.ts";
import { hostPort } from "./address.ts";
import { requireAllowList, type ServerTls, serverTlsOf, TlsHandshakes } from "./_tls_handshake.ts";

export type { ConnectionHandler } from "./_tracker.ts";

/**
 * File descriptors a server holds per accepted TCP connection: 2. Deno 2.9
 * duplicates the descriptor when it turns a `Deno.listen` connection into the
 * `node:net` socket TLS runs on, and the original must stay open until the
 * socket closes (closing it shuts the connection down). Size `ulimit -n` /
 * `LimitNOFILE=` for twice the clients plus a margin.
 */
export const DESCRIPTORS_PER_CONNECTION = 2;

/** Refusal reasons with a log budget of their own at once; past it they start afresh. */
const MAX_REFUSAL_BUDGETS = 1024;

/**
 * A listening server. Its accept loop survives EMFILE/ENFILE (see
 * {@linkcode acceptLoop}); it tracks live connections and TLS handshakes in
 * progress, runs one handler per connection without awaiting it, logs
 * handler errors, and on {@linkcode Server.close} stops accepting, closes
 * pending handshakes, signals handlers, waits for them (up to `graceMs`),
 * then destroys what is left.
 */
export class Server implements AsyncDisposable {
  readonly #listener: Deno.Listener;
  readonly #options: ListenOptions;
  readonly #log: Logger;
  readonly #tracker: ConnectionTracker;
  readonly #handshakes: TlsHandshakes;
  readonly #caps: AddressCaps;
  /** Failed accepts and failed descriptor duplicates, told once, with one back-off. */
  readonly #trouble: AcceptTrouble;
  /**
   * A log budget per refusal reason (the per-address cap's names the
   * address), so a peer that repeats a refused connection cannot fill the
   * log; `onRefused` still hears of every refusal. Each tells its count at
   * the end of its window (or on close) when no refusal follows.
   */
  readonly #refusals = new Map<string, LogBudget>();
  #tls: ServerTls | undefined;
  #loop: Promise<void> | undefined;
  #closing: Promise<void> | undefined;
  /** The log budgets are closed: a late refusal arms no timer. */
  #closed = false;
  #stopped: Promise<void> | undefined;

  /** @internal Use {@linkcode listen}. */
  constructor(listener: Deno.Listener, options: ListenOptions, handler: ConnectionHandler) {
    this.#listener = listener;
    this.#options = options;
    this.#log = options.logger ?? nullLogger;
    this.#tracker = new ConnectionTracker(handler, this.#log);
    this.#handshakes = new TlsHandshakes(options.handshakeTimeoutMs ?? 10_000);
    this.#caps = new AddressCaps(options);
    this.#trouble = new AcceptTrouble({ logger: this.#log });
    if (options.tls) this.setTls(options.tls);
  }

  /**
   * @internal Starts the accept loop, once the TCP handle class is loaded
   * ({@linkcode listen} has loaded it already; {@linkcode listenNow} has not).
   */
  start(): void {
    this.#loop = (async () => {
      try {
        await prepareTcpHandles();
      } catch (err) {
        this.#log.error("cannot accept connections: the listener was closed", {
          port: this.port,
          error: errorText(err),
        });
        try {
          this.#listener.close();
        } catch { /* closed already */ }
        return;
      }
      await acceptLoop(this.#listener, (c) => this.#accepted(c), this.#trouble);
    })();
  }

  /**
   * Swaps the TLS material (certificate, key, client allow-list) for new
   * handshakes; live connections keep theirs. Throws on bad PEM, leaving the
   * old material in place.
   */
  setTls(material: TlsMaterial): void {
    this.#tls = serverTlsOf(material, this.#options);
  }

  /** The bound port. */
  get port(): number {
    return (this.#listener.addr as Deno.NetAddr).port;
  }

  /** The bound address. */
  get host(): string {
    return (this.#listener.addr as Deno.NetAddr).hostname;
  }

  /** Live connections. */
  get connections(): ReadonlySet<Connection> {
    return this.#tracker.connections;
  }

  /** Aborts when the server starts closing. */
  get signal(): AbortSignal {
    return this.#tracker.signal;
  }

  #refuse(peer: PeerIdentity | undefined, where: string, reason: string, kind: RefusalKind): void {
    this.#options.onRefused?.(peer, reason, kind);
    if (this.#refusals.size >= MAX_REFUSAL_BUDGETS) this.#closeRefusalBudgets();
    let budget = this.#refusals.get(reason);
    if (!budget) {
      budget = new LogBudget({
        onSummary: (notLogged) =>
          this.#log.warn("refused client", { reason, not_logged: notLogged }),
      });
      // one made by a late refusal after close arms no timer
      if (this.#closed) budget.close();
      this.#refusals.set(reason, budget);
    }
    const notLogged = budget.take();
    if (notLogged === undefined) return;
    this.#log.warn("refused client", {
      peer: where,
      reason,
      ...(notLogged > 0 ? { not_logged: notLogged } : {}),
    });
  }

  /** Tells what the refusal budgets left out and drops them. */
  #closeRefusalBudgets(): void {
    for (const budget of this.#refusals.values()) budget.close();
    this.#refusals.clear();
  }

  /**
   * Takes one accepted connection. Called by the accept loop itself, so
   * nothing may escape it: a throw from the service's own callbacks (its
   * `authorize`, `onRefused` or logger) closes that connection and is
   * logged, and accepting goes on.
   */
  #accepted(raw: Deno.Conn): void {
    const made: { transport?: net.Socket } = {};
    try {
      this.#take(raw, made);
    } catch (err) {
      if (made.transport) made.transport.destroy();
      else {
        try {
          raw.close();
        } catch { /* closed already */ }
      }
      try {
        this.#log.error("cannot set up an accepted connection: it was closed", {
          error: errorText(err),
        });
      } catch { /* a logger that throws must not end accepting either */ }
    }
  }

  #take(raw: Deno.Conn, made: { transport?: net.Socket }): void {
    if (this.#tracker.signal.aborted) {
      raw.close();
      return;
    }
    const remote = raw.remoteAddr as Deno.NetAddr;
    const address = remote.hostname;
    const where = hostPort(address, remote.port);
    const max = this.#options.maxConnections;
    if (max !== undefined && this.#tracker.connections.size + this.#handshakes.size >= max) {
      this.#trouble.ok(); // accepting works: this one is refused on purpose
      this.#refuse(
        undefined,
        where,
        `too many connections: ${max} open, the listener's cap is ${max}`,
        "cap",
      );
      raw.close();
      return;
    }
    const counted = this.#caps.counting;
    const over = this.#caps.admit(address);
    if (over) {
      this.#trouble.ok(); // accepting works: this one is refused on purpose
      this.#refuse(undefined, where, over.reason, over.kind);
      raw.close();
      return;
    }
    let transport: net.Socket;
    try {
      // synchronous: a failed duplicate backs the accept loop off before its next accept
      transport = nodeSocketOf(raw, counted ? () => this.#caps.release(address) : undefined);
    } catch (err) {
      if (counted) this.#caps.release(address);
      // told once with failed accepts (not one error line per connection), and accepting backs off
      this.#trouble.failed(
        `${where}: ${(err as Error).message}`,
        err instanceof DescriptorDupError,
      );
      return;
    }
    made.transport = transport;
    this.#trouble.ok();
    transport.setNoDelay(true);
    if (!this.#tls) {
      this.#accept(transport, false);
      return;
    }
    this.#handshakes.start(
      transport,
      this.#tls,
      (socket) => this.#accept(socket, true, transport),
      (reason, kind) => this.#refuse(undefined, where, reason, kind),
    );
  }

  #accept(socket: net.Socket, isTls: boolean, transport?: net.Socket): void {
    if (this.#tracker.signal.aborted) {
      socket.destroy();
      transport?.destroy();
      return;
    }
    const peer = peerOf(socket, isTls, transport);
    const refusal = checkPeer(peer, this.#options);
    if (refusal !== undefined) {
      this.#refuse(peer, describePeer(peer), refusal.reason, refusal.kind);
      socket.destroy();
      transport?.destroy();
      return;
    }
    const conn = new Connection(socket, peer, transport, this.#options.policy);
    const label = describePeer(peer);
    this.#log.debug("client connected", { peer: label, fingerprint: peer.fingerprint });
    this.#tracker.run(conn, label);
  }

  /** Stops accepting new connections and closes TLS handshakes in progress; live ones continue. Idempotent. */
  stopAccepting(): Promise<void> {
    this.#stopped ??= (async () => {
      try {
        this.#listener.close();
      } catch { /* already closed */ }
      this.#handshakes.abandonAll();
      await this.#loop;
    })();
    return this.#stopped;
  }

  /**
   * Graceful close: stop accepting, abort the handlers' signal, wait for the
   * handlers (up to `graceMs`), destroy remaining sockets. Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      const stopped = this.stopAccepting();
      await this.#tracker.close(this.#options.graceMs ?? 5000);
      await stopped;
      // the counts still left out are told now; later budgets arm no timer
      this.#closed = true;
      this.#trouble.close();
      this.#closeRefusalBudgets();
    })();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/**
 * Opens a TLS listener (`node:tls` over sockets from a `Deno.listen` accept
 * loop, so client certificates can be requested and verified) or, without
 * `tls`, a plain TCP listener, and runs `handler` for every accepted
 * connection.
 *
 * @example
 * ```ts
 * await using server = await listen({ port: 0, tls: material, requireClientCert: true }, async (conn) => {
 *   for await (const chunk of conn.readable()) await conn.write(chunk);
 * });
 * ```
 */
export async function listen(options: ListenOptions, handler: ConnectionHandler): Promise<Server> {
  requireAllowList(options.requireClientCert, options.tls?.clientCa);
  await prepareTcpHandles();
  return listenNow(options, handler);
}

/**
 * {@linkcode listen}, binding before it returns (so a taken port throws at
 * once, for callers that cannot await): accepting starts as soon as the TCP
 * handle class is loaded (at once when any listener loaded it before).
 *
 * @example
 * ```ts
 * await using server = listenNow({ port: 0, host: "127.0.0.1" }, (conn) => conn.end("hi\n"));
 * ```
 */
export function listenNow(options: ListenOptions, handler: ConnectionHandler): Server {
  requireAllowList(options.requireClientCert, options.tls?.clientCa);
  const host = options.host ?? "0.0.0.0";
  let listener: Deno.Listener;
  try {
    listener = Deno.listen({ hostname: host, port: options.port, transport: "tcp" });
  } catch (err) {
    const why = err instanceof Deno.errors.AddrInUse
      ? "address already in use (another process holds it; pick another --port)"
      : err instanceof Deno.errors.PermissionDenied || /permission denied/i.test(String(err))
      ? "permission denied (ports below 1024 need privileges; pick another --port)"
      : err instanceof Error
      ? err.message
      : String(err);
    throw new Error(`Cannot listen on ${host}:${options.port}: ${why}`, { cause: err });
  }
  // TLS runs over our own TCP sockets wrapped in tls.TLSSocket, so that
  // pausing the TCP handle really stops reading: in Deno 2.9 pausing a
  // node:tls server socket does not (the decrypted bytes keep accumulating).
  const server = new Server(listener, options, handler);
  server.start();
  return server;
}
