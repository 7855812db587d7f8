import * as tls from "node:tls";
import * as net from "node:net";
import { type Logger, nullLogger } from "../log/mod.ts";
import { Connection } from "./connection.ts";
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
  /** Called for each refused peer with the reason (metrics, tests). */
  onRefused?: (peer: PeerIdentity | undefined, reason: string) => void;
  /** Logger for accept/refuse/error lines. Default: silent. */
  logger?: Logger;
  /** How long `close()` waits for handlers to finish before destroying sockets, ms. Default 5000. */
  graceMs?: number;
  /** How long a client may take to complete the TLS handshake, ms. Default 10000. */
  handshakeTimeoutMs?: number;
  /**
   * Highest TLS version offered. Default `"TLSv1.3"`. `"TLSv1.2"` suits
   * write-only clients: a TLS 1.3 server sends session tickets after the
   * handshake, and a client that never reads them and then closes makes its
   * kernel send a TCP reset, which discards whatever the server had not read
   * yet. Under TLS 1.2 the tickets are part of the handshake.
   */
  tlsMaxVersion?: "TLSv1.2" | "TLSv1.3";
}

/** Handles one accepted connection; the signal aborts when the server starts closing. */
export type ConnectionHandler = (conn: Connection, signal: AbortSignal) => Promise<void> | void;

/**
 * A listening server. It tracks live connections, runs one handler per
 * connection without awaiting it, logs handler errors, and on
 * {@linkcode Server.close} stops accepting, signals handlers, waits for them
 * (up to `graceMs`), then destroys what is left.
 */
export class Server implements AsyncDisposable {
  readonly #server: net.Server;
  readonly #options: ListenOptions;
  readonly #handler: ConnectionHandler;
  readonly #log: Logger;
  readonly #connections = new Set<Connection>();
  readonly #tasks = new Set<Promise<void>>();
  readonly #abort = new AbortController();
  #closing: Promise<void> | undefined;
  #stopped: Promise<void> | undefined;
  /** TLS for new connections (see {@linkcode Server.setTls}); unset for plain TCP. */
  #tls: { context: tls.SecureContext; requestCert: boolean } | undefined;

  /** @internal Use {@linkcode listen}. */
  constructor(server: net.Server, options: ListenOptions, handler: ConnectionHandler) {
    this.#server = server;
    this.#options = options;
    this.#handler = handler;
    this.#log = options.logger ?? nullLogger;
    this.#tls = options.tls ? secureContext(options.tls, options) : undefined;
  }

  /** The bound port. */
  get port(): number {
    return (this.#server.address() as net.AddressInfo).port;
  }

  /** The bound address. */
  get host(): string {
    return (this.#server.address() as net.AddressInfo).address;
  }

  /** Live connections. */
  get connections(): ReadonlySet<Connection> {
    return this.#connections;
  }

  /** Aborts when the server starts closing. */
  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  /**
   * Swaps the TLS material (certificate, key, client allow-list) used for new
   * connections; live connections keep theirs. Throws, changing nothing, if
   * the material is unusable or a required allow-list is missing.
   */
  setTls(material: TlsMaterial): void {
    if (!this.#tls) throw new TypeError("Cannot set TLS material: this listener is plain TCP");
    this.#tls = secureContext(material, this.#options);
  }

  /** @internal Wraps an accepted TCP socket in server-side TLS, then accepts it. */
  acceptTls(transport: net.Socket): void {
    if (this.#abort.signal.aborted || !this.#tls) {
      transport.destroy();
      return;
    }
    const { context, requestCert } = this.#tls;
    const socket = new tls.TLSSocket(transport, {
      isServer: true,
      secureContext: context,
      requestCert,
      rejectUnauthorized: false,
    });
    const fail = (err: Error) => {
      clearTimeout(timer);
      this.handshakeFailed(err, transport);
      socket.destroy();
    };
    const timeoutMs = this.#options.handshakeTimeoutMs ?? 10_000;
    const timer = setTimeout(
      () => fail(new Error(`no TLS handshake within ${timeoutMs} ms`)),
      timeoutMs,
    );
    transport.on("error", () => {}); // reported through the TLS socket
    socket.once("error", fail);
    socket.once("secure", () => {
      clearTimeout(timer);
      socket.off("error", fail);
      markAuthorization(socket, requestCert);
      this.accept(socket, true, transport);
    });
  }

  /** @internal */
  accept(socket: net.Socket, isTls: boolean, transport?: net.Socket): void {
    if (this.#abort.signal.aborted) {
      socket.destroy();
      return;
    }
    const peer = peerOf(socket, isTls, transport);
    const refusal = this.#check(peer);
    if (refusal !== undefined) {
      this.#log.warn("refused client", { peer: describePeer(peer), reason: refusal });
      this.#options.onRefused?.(peer, refusal);
      socket.destroy();
      return;
    }
    socket.setNoDelay(true);
    socket.on("error", (err: Error) => {
      this.#log.debug("socket error", { peer: describePeer(peer), error: err.message });
    });
    const conn = new Connection(socket, peer, transport);
    this.#connections.add(conn);
    this.#log.debug("client connected", {
      peer: describePeer(peer),
      fingerprint: peer.fingerprint,
    });
    const task = (async () => {
      try {
        await this.#handler(conn, this.#abort.signal);
      } catch (err) {
        this.#log.error("connection handler failed", {
          peer: describePeer(peer),
          error: err instanceof Error ? err.message : String(err),
        });
        conn.destroy();
      }
    })();
    this.#tasks.add(task);
    conn.closed.then(() => {
      this.#connections.delete(conn);
      this.#log.debug("client disconnected", { peer: describePeer(peer) });
    });
    task.finally(() => this.#tasks.delete(task));
  }

  #check(peer: PeerIdentity): string | undefined {
    const o = this.#options;
    if (peer.tls && o.requireClientCert) {
      if (!peer.fingerprint) return "no client certificate presented";
      if (!peer.authorized) {
        // rustls reports an expired certificate as an unverifiable signature; say what it is.
        if (peer.validTo !== undefined && peer.validTo.getTime() < Date.now()) {
          return `client certificate expired on ${peer.validTo.toISOString()}`;
        }
        return `client certificate not allowed (${
          peer.authorizationError ?? "not in the allow-list"
        })`;
      }
    }
    return o.authorize?.(peer);
  }

  /** @internal Reports a failed TLS handshake (plain TCP client, unknown CA, expired...). */
  handshakeFailed(err: Error, socket: net.Socket): void {
    const peer = { address: socket.remoteAddress ?? "unknown", port: socket.remotePort ?? 0 };
    const reason = `TLS handshake failed: ${err.message}`;
    this.#log.warn("refused client", { peer: `${peer.address}:${peer.port}`, reason });
    this.#options.onRefused?.(undefined, reason);
    socket.destroy();
  }

  /** Stops accepting new connections; live ones continue. Idempotent. */
  stopAccepting(): Promise<void> {
    this.#stopped ??= new Promise((resolve) => {
      this.#server.close(() => resolve());
      if (!this.#server.listening) resolve();
    });
    return this.#stopped;
  }

  /**
   * Graceful close: stop accepting, abort the handlers' signal, wait for the
   * handlers (up to `graceMs`), destroy remaining sockets. Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      const stopped = this.stopAccepting();
      this.#abort.abort();
      const grace = this.#options.graceMs ?? 5000;
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        Promise.allSettled([...this.#tasks]),
        new Promise((r) => timer = setTimeout(r, grace)),
      ]);
      clearTimeout(timer);
      for (const c of this.#connections) c.destroy();
      await Promise.allSettled([...this.#connections].map((c) => c.closed));
      await stopped;
    })();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/**
 * Opens a TLS listener (over `node:tls`, which can request and verify client
 * certificates) or, without `tls`, a plain TCP listener, and runs `handler`
 * for every accepted connection.
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
  let raw: net.Server;
  if (t) {
    // TLS runs over a plain TCP server whose sockets are wrapped in
    // tls.TLSSocket, so that pausing the TCP socket really stops reading:
    // in Deno 2.9 pausing a node:tls server socket does not (the decrypted
    // bytes keep accumulating in memory), which would defeat backpressure.
    raw = net.createServer((socket) => server.acceptTls(socket));
  } else {
    raw = net.createServer((socket) => server.accept(socket, false));
  }
  // The callbacks above run only after listen(), by which time `server` is set.
  const server = new Server(raw, options, handler);
  const log = options.logger ?? nullLogger;
  const host = options.host ?? "0.0.0.0";
  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      const why = err.code === "EADDRINUSE"
        ? "address already in use (another process holds it; pick another --port)"
        : err.code === "EACCES"
        ? "permission denied (ports below 1024 need privileges; pick another --port)"
        : err.message;
      reject(new Error(`Cannot listen on ${host}:${options.port}: ${why}`, { cause: err }));
    };
    raw.once("error", onError);
    raw.listen(options.port, host, () => {
      raw.off("error", onError);
      // A failure to listen is the caller's error (reported once); later ones are logged.
      raw.on("error", (err: Error) => log.error("listener error", { error: err.message }));
      resolve();
    });
  });
  return server;
}

function secureContext(
  t: TlsMaterial,
  options: ListenOptions,
): { context: tls.SecureContext; requestCert: boolean } {
  const clientCa = t.clientCa && t.clientCa.length > 0 ? t.clientCa : undefined;
  if (options.requireClientCert && !clientCa) {
    throw new TypeError(
      "Cannot require client certificates: no client allow-list (clientCa) given",
    );
  }
  const context = tls.createSecureContext({
    cert: t.cert,
    key: t.key,
    maxVersion: options.tlsMaxVersion ?? "TLSv1.3",
    ...(clientCa ? { ca: clientCa } : {}),
  });
  return { context, requestCert: clientCa !== undefined };
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
