/**
 * The server side of TLS over an accepted TCP socket: the secure context
 * built from the listener's material, and the handshakes in progress, each
 * with a time limit and a way to abandon it when the listener stops.
 */
import * as tls from "node:tls";
import type * as net from "node:net";
import type { ListenOptions, RefusalKind, TlsMaterial } from "./listen_options.ts";
import { checkClientChain, type ClientTrust, clientTrustOf } from "./_client_chain.ts";

/** What new handshakes use: the secure context and whether a client certificate is requested. */
export interface ServerTls {
  context: tls.SecureContext;
  requestCert: boolean;
  /** The allow-list's CAs and pins, when client certificates are requested. */
  trust?: ClientTrust;
}

/** Throws when client certificates are required but there is no allow-list to check them against. */
export function requireAllowList(
  requireClientCert: boolean | undefined,
  clientCa?: string[],
): void {
  if (requireClientCert && !(clientCa && clientCa.length > 0)) {
    throw new TypeError(
      "Cannot require client certificates: no client allow-list (clientCa) given",
    );
  }
}

/** Builds the secure context for `material`; throws on bad PEM. */
export function serverTlsOf(
  material: TlsMaterial,
  options: Pick<ListenOptions, "requireClientCert" | "tlsMaxVersion">,
): ServerTls {
  const clientCa = material.clientCa && material.clientCa.length > 0
    ? material.clientCa
    : undefined;
  requireAllowList(options.requireClientCert, clientCa);
  const context = tls.createSecureContext({
    cert: material.cert,
    key: material.key,
    maxVersion: options.tlsMaxVersion ?? "TLSv1.3",
    ...(clientCa ? { ca: clientCa } : {}),
  });
  if (!clientCa) return { context, requestCert: false };
  return { context, requestCert: true, trust: clientTrustOf(clientCa, material.clientPins) };
}

/** A module-level no-op, so a listener kept for a connection's life keeps no handshake closure alive. */
const ignore = () => {};

/** TLS handshakes in progress on accepted TCP sockets, each abandoned after `timeoutMs`. */
export class TlsHandshakes {
  readonly #timeoutMs: number;
  /** Each handshake's TCP socket, with the function that abandons it. */
  readonly #pending = new Map<net.Socket, () => void>();

  constructor(timeoutMs: number) {
    this.#timeoutMs = timeoutMs;
  }

  /** Handshakes in progress. */
  get size(): number {
    return this.#pending.size;
  }

  /**
   * Wraps `transport` in server-side TLS. `secure` gets the TLS socket once
   * the handshake is done (its `authorized` set); `fail` gets why it failed
   * (timeout or handshake error), after which both sockets are destroyed.
   */
  start(
    transport: net.Socket,
    server: ServerTls,
    secure: (socket: tls.TLSSocket) => void,
    fail: (reason: string, kind: RefusalKind) => void,
  ): void {
    const requestCert = server.requestCert;
    const trust = server.trust;
    const socket = new tls.TLSSocket(transport, {
      isServer: true,
      secureContext: server.context,
      requestCert,
      rejectUnauthorized: false,
    });
    const onTransportClose = () => {
      if (this.#pending.has(transport)) done();
    };
    const done = () => {
      clearTimeout(timer);
      this.#pending.delete(transport);
      transport.off("close", onTransportClose);
    };
    const failed = (reason: string, kind: RefusalKind) => {
      done();
      fail(reason, kind);
      socket.destroy();
      transport.destroy();
    };
    const timeoutMs = this.#timeoutMs;
    const timer = setTimeout(
      () => failed(`TLS handshake failed: no TLS handshake within ${timeoutMs} ms`, "timeout"),
      timeoutMs,
    );
    // The socket itself keeps the process alive while it is open; the timer must not.
    Deno.unrefTimer(timer as unknown as number);
    this.#pending.set(transport, () => {
      done();
      socket.destroy();
      transport.destroy();
    });
    transport.on("error", ignore); // reported through the TLS socket
    transport.on("close", onTransportClose);
    const onError = (err: Error) => failed(`TLS handshake failed: ${err.message}`, "handshake");
    socket.once("error", onError);
    socket.once("secure", () => {
      socket.off("error", onError);
      try {
        markAuthorization(socket, trust);
      } catch (err) {
        // Runs inside the TLS internals: nothing may escape (a crafted
        // certificate must not take the process down); refuse this client.
        failed(
          `TLS handshake failed: cannot check the client certificate: ${String(err)}`,
          "handshake",
        );
        return;
      }
      done();
      secure(socket);
    });
  }

  /** Abandons every handshake in progress (their sockets are destroyed, nothing is reported). */
  abandonAll(): void {
    for (const abandon of [...this.#pending.values()]) abandon();
  }
}

/**
 * Sets `authorized`/`authorizationError` on a server-side TLS socket that was
 * created directly (not by `tls.Server`, which would do it): a presented
 * certificate that verified against the allow-list is authorized, unless it
 * came through a pinned entry that is not the certificate itself.
 */
function markAuthorization(socket: tls.TLSSocket, trust: ClientTrust | undefined): void {
  const s = socket as unknown as {
    _handle?: { verifyError?: () => unknown };
    authorized: boolean;
    authorizationError?: string;
  };
  s.authorized = false;
  if (!trust) return;
  const cert = socket.getPeerCertificate();
  if (!cert || Object.keys(cert).length === 0) return;
  const err = s._handle?.verifyError?.();
  if (err) {
    s.authorizationError = typeof err === "string"
      ? err
      : String((err as { code?: string }).code ?? err);
    return;
  }
  const refusal = checkClientChain(socket, trust);
  if (refusal === undefined) s.authorized = true;
  else s.authorizationError = refusal;
}
