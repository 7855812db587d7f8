import * as tls from "node:tls";
import type * as net from "node:net";
import { type Logger, nullLogger } from "../log/mod.ts";
import { Connection, type ConnectionPolicy } from "./connection.ts";
import { acceptLoop } from "./accept_loop.ts";
import { type ConnectionHandler, ConnectionTracker } from "./_tracker.ts";
import { nodeSocketOf, prepareTcpHandles } from "./_tcp_handle.ts";
import { describePeer, type PeerIdentity, peerOf } from "./peer.ts";

/** Server-side TLS material, as PEM text. */
export interface TlsMaterial {
  /** Server certificate chain (PEM). */
  cert: string;
  /** Server private key (PEM). */
  key: string;
  /**
   * The client allow-list: CA certificates and individual (self-signed)
   * client certificates, PEM. A client certificate must chain to, or be, one
   * of these. Default: none (client certificates are not requested).
   */
  clientCa?: string[];
}

/**
 * Why a peer was refused: no client certificate, an unknown (not allow-listed)
 * one, a revoked or expired one, over a connection cap, no handshake in time,
 * another handshake failure, or the service's own `authorize` check.
 */
export type RefusalKind =
  | "no-cert"
  | "unknown"
  | "revoked"
  | "expired"
  | "cap"
  | "timeout"
  | "handshake"
  | "refused";

/** Options for {@linkcode listen}. */
export interface ListenOptions {
  /** Address to bind. Default `"0.0.0.0"`. */
  host?: string;
  /** Port to bind; `0` picks a free one (read it from {@linkcode Server.port}). */
  port: number;
  /** TLS material; without it the listener is plain TCP. */
  tls?: TlsMaterial;
  /**
   * Refuse clients that do not present a certificate from the allow-list.
   * Requires `tls.clientCa`. Default `false` (a certificate is requested when
   * `clientCa` is set, and its identity reported, but not required).
   */
  requireClientCert?: boolean;
  /**
   * An extra check after the handshake (revocation, claimed names). Return a
   * reason to refuse the peer, or `undefined` to accept. Default: accept.
   */
  authorize?: (peer: PeerIdentity) => string | undefined;
  /** Called for each refused peer with the reason and its kind (metrics, tests). */
  onRefused?: (peer: PeerIdentity | undefined, reason: string, kind: RefusalKind) => void;
  /** Logger for accept/refuse/error lines. Default: silent. */
  logger?: Logger;
  /** How long `close()` waits for handlers to finish before destroying sockets, ms. Default 5000. */
  graceMs?: number;
  /** How long a client may take to complete the TLS handshake, ms. Default 10000. */
  handshakeTimeoutMs?: number;
  /**
   * Most connections (live and in handshake) from one IP address; one more is
   * closed at once and refused with kind `"cap"`. Default: no cap.
   */
  maxPerAddress?: number;
  /** Count loopback clients (127.0.0.0/8, ::1) against `maxPerAddress` too. Default `false`. */
  capLoopback?: boolean;
  /** The connection policy (idle timeout, unsent-bytes cap, half-open) for every connection. */
  policy?: ConnectionPolicy;
  /**
   * Highest TLS version offered. Default `"TLSv1.3"`. `"TLSv1.2"` suits
   * write-only clients: a TLS 1.3 server sends session tickets after the
   * handshake, and a client that never reads them and then closes makes its
   * kernel send a TCP reset, which discards whatever the server had not read
   * yet. Under TLS 1.2 the tickets are part of the handshake.
   */
  tlsMaxVersion?: "TLSv1.2" | "TLSv1.3";
}

export type { ConnectionHandler } from "./_tracker.ts";

const LOOPBACK = /^(127\.|::1$|::ffff:127\.)/;

/**
 * File descriptors a server holds per accepted TCP connection: 2. Deno 2.9
 * duplicates the descriptor when it turns a `Deno.listen` connection into the
 * `node:net` socket TLS runs on, and the original must stay open until the
 * socket closes (closing it shuts the connection down). Size `ulimit -n` /
 * `LimitNOFILE=` for twice the clients plus a margin.
 */
export const DESCRIPTORS_PER_CONNECTION = 2;

/** A module-level no-op, so a listener kept for a connection's life keeps no handshake closure alive. */
const ignore = () => {};

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
  /** TLS handshakes in progress, each with the function that abandons it. */
  readonly #handshakes = new Map<net.Socket, () => void>();
  readonly #perAddress = new Map<string, number>();
  #context: tls.SecureContext | undefined;
  #requestCert = false;
  #loop: Promise<void> | undefined;
  #closing: Promise<void> | undefined;
  #stopped: Promise<void> | undefined;

  /** @internal Use {@linkcode listen}. */
  constructor(listener: Deno.Listener, options: ListenOptions, handler: ConnectionHandler) {
    this.#listener = listener;
    this.#options = options;
    this.#log = options.logger ?? nullLogger;
    this.#tracker = new ConnectionTracker(handler, this.#log);
    if (options.tls) this.setTls(options.tls);
  }

  /** @internal Starts the accept loop. */
  start(): void {
    const logger = this.#log;
    this.#loop = acceptLoop(this.#listener, (c) => void this.#accepted(c), { logger });
  }

  /**
   * Swaps the TLS material (certificate, key, client allow-list) for new
   * handshakes; live connections keep theirs. Throws on bad PEM, leaving the
   * old material in place.
   */
  setTls(material: TlsMaterial): void {
    const clientCa = material.clientCa && material.clientCa.length > 0
      ? material.clientCa
      : undefined;
    if (this.#options.requireClientCert && !clientCa) {
      throw new TypeError(
        "Cannot require client certificates: no client allow-list (clientCa) given",
      );
    }
    this.#context = tls.createSecureContext({
      cert: material.cert,
      key: material.key,
      maxVersion: this.#options.tlsMaxVersion ?? "TLSv1.3",
      ...(clientCa ? { ca: clientCa } : {}),
    });
    this.#requestCert = clientCa !== undefined;
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
    this.#log.warn("refused client", { peer: where, reason });
    this.#options.onRefused?.(peer, reason, kind);
  }

  /** Counts a connection against its address; false (and refused) when over the cap. */
  #admit(address: string, where: string): boolean {
    const cap = this.#options.maxPerAddress;
    if (cap === undefined || (!this.#options.capLoopback && LOOPBACK.test(address))) return true;
    const n = this.#perAddress.get(address) ?? 0;
    if (n >= cap) {
      this.#refuse(
        undefined,
        where,
        `too many connections from "${address}": ${n} open, the per-address cap is ${cap}`,
        "cap",
      );
      return false;
    }
    this.#perAddress.set(address, n + 1);
    return true;
  }

  #release(address: string): void {
    const n = this.#perAddress.get(address);
    if (n === undefined) return;
    if (n <= 1) this.#perAddress.delete(address);
    else this.#perAddress.set(address, n - 1);
  }

  async #accepted(raw: Deno.Conn): Promise<void> {
    if (this.#tracker.signal.aborted) {
      raw.close();
      return;
    }
    const remote = raw.remoteAddr as Deno.NetAddr;
    const address = remote.hostname;
    const where = `${address}:${remote.port}`;
    const counted = this.#options.maxPerAddress !== undefined;
    if (!this.#admit(address, where)) {
      raw.close();
      return;
    }
    let transport: net.Socket;
    try {
      transport = await nodeSocketOf(raw, counted ? () => this.#release(address) : undefined);
    } catch (err) {
      if (counted) this.#release(address);
      this.#log.error("cannot take an accepted connection", { peer: where, error: String(err) });
      return;
    }
    transport.setNoDelay(true);
    if (this.#context) this.#acceptTls(transport, where);
    else this.#accept(transport, false);
  }

  /** Wraps an accepted TCP socket in server-side TLS, then accepts it. */
  #acceptTls(transport: net.Socket, where: string): void {
    const requestCert = this.#requestCert;
    const socket = new tls.TLSSocket(transport, {
      isServer: true,
      secureContext: this.#context!,
      requestCert,
      rejectUnauthorized: false,
    });
    const onTransportClose = () => {
      if (this.#handshakes.has(transport)) done();
    };
    const done = () => {
      clearTimeout(timer);
      this.#handshakes.delete(transport);
      transport.off("close", onTransportClose);
    };
    const fail = (reason: string, kind: RefusalKind) => {
      done();
      this.#refuse(undefined, where, reason, kind);
      socket.destroy();
      transport.destroy();
    };
    const timeoutMs = this.#options.handshakeTimeoutMs ?? 10_000;
    const timer = setTimeout(
      () => fail(`TLS handshake failed: no TLS handshake within ${timeoutMs} ms`, "timeout"),
      timeoutMs,
    );
    // The socket itself keeps the process alive while it is open; the timer must not.
    Deno.unrefTimer(timer as unknown as number);
    this.#handshakes.set(transport, () => {
      done();
      socket.destroy();
      transport.destroy();
    });
    transport.on("error", ignore); // reported through the TLS socket
    transport.on("close", onTransportClose);
    const onError = (err: Error) => fail(`TLS handshake failed: ${err.message}`, "handshake");
    socket.once("error", onError);
    socket.once("secure", () => {
      done();
      socket.off("error", onError);
      markAuthorization(socket, requestCert);
      this.#accept(socket, true, transport);
    });
  }

  #accept(socket: net.Socket, isTls: boolean, transport?: net.Socket): void {
    if (this.#tracker.signal.aborted) {
      socket.destroy();
      transport?.destroy();
      return;
    }
    const peer = peerOf(socket, isTls, transport);
    const refusal = this.#check(peer);
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

  #check(peer: PeerIdentity): { reason: string; kind: RefusalKind } | undefined {
    const o = this.#options;
    if (peer.tls && o.requireClientCert) {
      if (!peer.fingerprint) return { reason: "no client certificate presented", kind: "no-cert" };
      if (!peer.authorized) {
        // rustls reports an expired certificate as an unverifiable signature; say what it is.
        if (peer.validTo !== undefined && peer.validTo.getTime() < Date.now()) {
          return {
            reason: `client certificate expired on ${peer.validTo.toISOString()}`,
            kind: "expired",
          };
        }
        return {
          reason: `client certificate not allowed (${
            peer.authorizationError ?? "not in the allow-list"
          })`,
          kind: "unknown",
        };
      }
    }
    const reason = o.authorize?.(peer);
    if (reason === undefined) return undefined;
    return { reason, kind: /revoked/i.test(reason) ? "revoked" : "refused" };
  }

  /** Stops accepting new connections and closes TLS handshakes in progress; live ones continue. Idempotent. */
  stopAccepting(): Promise<void> {
    this.#stopped ??= (async () => {
      try {
        this.#listener.close();
      } catch { /* already closed */ }
      for (const abandon of [...this.#handshakes.values()]) abandon();
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
  const t = options.tls;
  if (options.requireClientCert && !(t?.clientCa && t.clientCa.length > 0)) {
    throw new TypeError(
      "Cannot require client certificates: no client allow-list (clientCa) given",
    );
  }
  await prepareTcpHandles();
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

/**
 * Sets `authorized`/`authorizationError` on a server-side TLS socket that was
 * created directly (not by `tls.Server`, which would do it): a presented
 * certificate that verified against the allow-list is authorized.
 */
function markAuthorization(socket: tls.TLSSocket, requestCert: boolean): void {
  const s = socket as unknown as {
    _handle?: { verifyError?: () => unknown };
    authorized: boolean;
    authorizationError?: string;
  };
  s.authorized = false;
  if (!requestCert) return;
  const cert = socket.getPeerCertificate();
  if (!cert || Object.keys(cert).length === 0) return;
  const err = s._handle?.verifyError?.();
  if (err) {
    s.authorizationError = typeof err === "string"
      ? err
      : String((err as { code?: string }).code ?? err);
  } else {
    s.authorized = true;
  }
}
