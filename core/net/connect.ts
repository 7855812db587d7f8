import * as tls from "node:tls";
import * as net from "node:net";
import { Connection, type ConnectionPolicy } from "./connection.ts";
import { peerOf } from "./peer.ts";
import { certificateNames, certificateNamesNote } from "./tls_hint.ts";

/** Client-side TLS settings, PEM text. */
export interface ClientTlsOptions {
  /** CA certificate(s) that sign the server certificate. Default: the system store. */
  ca?: string | string[];
  /** Client certificate to present (PEM). Default: none. */
  cert?: string;
  /** Client private key (PEM). Required with `cert`. */
  key?: string;
  /** Server name to verify (SNI). Default: `host` when it is a name. */
  servername?: string;
  /**
   * Check that the server certificate is for `servername` (or `host`).
   * Default `true`. `false` still requires the certificate chain to verify
   * against `ca` (unlike `insecure`) but accepts any host name in it, as
   * Python's `check_hostname = False` does: for a client that trusts one
   * pinned self-signed certificate, whatever name it was made for.
   */
  checkServerName?: boolean;
  /** Skip server certificate verification. Default `false`. */
  insecure?: boolean;
}

/** Options for {@linkcode connect}. */
export interface ConnectOptions {
  /** Server host. Default `"localhost"`. */
  host?: string;
  /** Server port. */
  port: number;
  /** TLS settings; without them the connection is plain TCP. */
  tls?: ClientTlsOptions;
  /** Give up after this many ms. Default 10000. */
  timeoutMs?: number;
  /** Aborts the attempt. */
  signal?: AbortSignal;
  /** The connection's policy (idle timeout, unsent-bytes cap). Default: the `Connection` defaults. */
  policy?: ConnectionPolicy;
}

/** A module-level no-op, so the listener kept for the connection's life keeps no connect closure alive. */
const ignore = () => {};

/** A `checkServerIdentity` that accepts any host name (the chain is still verified). */
const anyServerName = () => undefined;

function explain(err: NodeJS.ErrnoException, where: string): Error {
  const reason = err.code === "ECONNREFUSED"
    ? "connection refused (is the server running on that port?)"
    : err.code === "ENOTFOUND"
    ? "host not found"
    : err.code === "ECONNRESET"
    ? "connection reset by the server (it may require a client certificate you did not present or it does not allow, or cap the connections from this address and refuse one more; its log says which)"
    : err.code === "ERR_TLS_CERT_ALTNAME_INVALID"
    ? `${err.message.trimEnd()}; ${certificateNamesNote(certificateNames(err) ?? [])}`
    : err.message;
  return new Error(`Cannot connect to ${where}: ${reason}`, { cause: err });
}

/**
 * Connects to a sockkit server over TLS (`node:tls`, presenting a client
 * certificate when given) or plain TCP, and resolves once the handshake is
 * done. Errors name the address and the likely cause.
 *
 * @example
 * ```ts
 * await using conn = await connect({ port: 1191, tls: { ca, cert, key } });
 * await conn.write('{"a":1}');
 * ```
 */
export function connect(options: ConnectOptions): Promise<Connection> {
  const host = options.host ?? "localhost";
  const where = `${host}:${options.port}`;
  return new Promise((resolve, reject) => {
    let socket: net.Socket;
    const onError = (err: NodeJS.ErrnoException) => {
      cleanup();
      socket.destroy();
      reject(explain(err, where));
    };
    const onAbort = () => onError(Object.assign(new Error("aborted"), { code: "ABORT_ERR" }));
    const timer = setTimeout(
      () =>
        onError(
          Object.assign(new Error(`timed out after ${options.timeoutMs ?? 10000} ms`), {
            code: "ETIMEDOUT",
          }),
        ),
      options.timeoutMs ?? 10000,
    );
    const cleanup = () => {
      clearTimeout(timer);
      options.signal?.removeEventListener("abort", onAbort);
    };
    options.signal?.addEventListener("abort", onAbort, { once: true });
    const t = options.tls;
    if (t) {
      const o: tls.ConnectionOptions = {
        host,
        port: options.port,
        rejectUnauthorized: !t.insecure,
      };
      if (t.ca !== undefined) o.ca = t.ca;
      if (t.cert !== undefined) o.cert = t.cert;
      if (t.key !== undefined) o.key = t.key;
      if (t.checkServerName === false) o.checkServerIdentity = anyServerName;
      const sni = t.servername ?? (net.isIP(host) ? undefined : host);
      if (sni !== undefined) o.servername = sni;
      // TLS over our own TCP socket, so Connection.pause() can stop reads
      // (pausing a node:tls socket itself does not in Deno 2.9).
      const transport = net.connect({ host, port: options.port });
      transport.setNoDelay(true);
      transport.once("error", onError);
      o.socket = transport;
      socket = tls.connect(o, () => {
        cleanup();
        socket.off("error", onError);
        transport.off("error", onError);
        transport.on("error", ignore); // the TLS socket's errors are the Connection's
        resolve(new Connection(socket, peerOf(socket, true, transport), transport, options.policy));
      });
    } else {
      socket = net.connect({ host, port: options.port }, () => {
        cleanup();
        socket.off("error", onError);
        socket.setNoDelay(true);
        resolve(new Connection(socket, peerOf(socket, false), undefined, options.policy));
      });
    }
    socket.once("error", onError);
  });
}
