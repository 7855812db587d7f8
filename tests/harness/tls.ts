import {
  type ClientTlsOptions,
  connect,
  listen,
  type ListenOptions,
  type PeerIdentity,
  type RefusalKind,
} from "../../core/net/mod.ts";
import { loadServerTls, revocationCheck } from "../../core/pki/mod.ts";
import type { TestPki } from "./pki.ts";

/** The listener {@linkcode mtlsListener} returns (core/net's `Server`). */
export type TestServer = Awaited<ReturnType<typeof listen>>;

/**
 * Opens a core/net TLS listener on 127.0.0.1 (a free port) with `pki`'s
 * server certificate that requires a client certificate from its allow-list;
 * the other options (`authorize`, `onRefused`) pass through.
 */
export async function mtlsListener(
  pki: TestPki,
  options: Omit<ListenOptions, "host" | "port" | "tls" | "requireClientCert">,
  handler: Parameters<typeof listen>[1],
): Promise<TestServer> {
  const tls = await loadServerTls({
    cert: pki.paths.serverCert,
    key: pki.paths.serverKey,
    clientCerts: pki.paths.allowList,
  });
  return await listen(
    { host: "127.0.0.1", port: 0, tls, requireClientCert: true, ...options },
    handler,
  );
}

/** What a {@linkcode helloListener} saw: the peers it greeted and the refusals. */
export interface HelloListener extends AsyncDisposable {
  port: number;
  accepted: PeerIdentity[];
  refused: Array<{ cn: string | undefined; reason: string; kind: RefusalKind }>;
}

/**
 * An {@linkcode mtlsListener} that checks `pki`'s revocation list, answers
 * each accepted client `hello CN\n` and closes, and records who it
 * accepted and what it refused.
 */
export async function helloListener(pki: TestPki): Promise<HelloListener> {
  const accepted: PeerIdentity[] = [];
  const refused: HelloListener["refused"] = [];
  const server = await mtlsListener(pki, {
    authorize: revocationCheck(pki.paths.revoked),
    onRefused: (peer, reason, kind) => refused.push({ cn: peer?.cn, reason, kind }),
  }, async (conn) => {
    accepted.push(conn.peer);
    await conn.end(`hello ${conn.peer.cn}\n`);
  });
  return {
    port: server.port,
    accepted,
    refused,
    [Symbol.asyncDispose]: () => server[Symbol.asyncDispose](),
  };
}

const dec = new TextDecoder();

/**
 * Connects to 127.0.0.1:`port` (TLS with `tls`, else plain TCP), reads until
 * the server closes and returns what it sent, or ends with `error: ...` when
 * connecting or reading failed. A TLS client only listens (input the server
 * never reads would keep its socket open); a plain one sends `ping\n`, so a
 * TLS server fails the handshake.
 */
export async function readToClose(port: number, tls?: ClientTlsOptions): Promise<string> {
  let conn;
  try {
    conn = await connect({ host: "127.0.0.1", port, ...(tls ? { tls } : {}), timeoutMs: 5000 });
  } catch (err) {
    return `error: ${(err as Error).message}`;
  }
  let text = "";
  try {
    if (!tls) await conn.write("ping\n");
    for await (const chunk of conn.readable()) text += dec.decode(chunk);
    return text;
  } catch (err) {
    return text + `error: ${(err as Error).message}`;
  } finally {
    conn.destroy();
    await conn.closed;
  }
}
