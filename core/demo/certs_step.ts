import { listen, type PeerIdentity } from "../net/mod.ts";
import { connect } from "../net/mod.ts";
import {
  certPaths,
  issueClient,
  listCerts,
  loadCertsDirTls,
  loadClientTls,
  revocationCheck,
  revoke,
} from "../pki/mod.ts";
import type { DemoContext } from "./context.ts";
import { delay } from "../async/mod.ts";

function short(fingerprint: string): string {
  return `${fingerprint.slice(0, 16)}…`;
}

/**
 * The certificates demo: shows the throwaway CA and server certificate, then
 * proves them on a real mutual-TLS listener on loopback: "alice" is accepted
 * and identified by CN and fingerprint; a client issued and then revoked is
 * refused.
 */
export async function certsDemo(ctx: DemoContext): Promise<string[]> {
  const paths = certPaths(ctx.certsDir);
  const listing = await listCerts(ctx.certsDir);
  const ca = listing.find((c) => c.kind === "ca");
  const server = listing.find((c) => c.kind === "server");
  const clients = listing.filter((c) => c.kind === "client").map((c) => c.name);
  if (!ca || !server) throw new Error(`No CA or server certificate in "${ctx.certsDir}"`);

  await issueClient(ctx.certsDir, "mallory");
  await revoke(ctx.certsDir, "mallory");

  const seen: PeerIdentity[] = [];
  const refused: string[] = [];
  const tls = await loadCertsDirTls(ctx.certsDir);
  await using listener = await listen({
    host: "127.0.0.1",
    port: 0,
    tls,
    requireClientCert: true,
    authorize: revocationCheck(paths.revoked),
    onRefused: (_peer, reason) => refused.push(reason),
    logger: ctx.logger,
  }, async (conn) => {
    seen.push(conn.peer);
    await conn.end("hello\n");
  });

  const dial = async (name: string) => {
    const clientTls = await loadClientTls({
      ca: paths.ca,
      cert: paths.clientCert(name),
      key: paths.clientKey(name),
    });
    await using conn = await connect({
      host: "127.0.0.1",
      port: listener.port,
      tls: { ...clientTls, servername: "localhost" },
      signal: ctx.signal,
    });
    let got = "";
    for await (const chunk of conn.readable()) got += new TextDecoder().decode(chunk);
    return got;
  };

  const greeting = await dial("alice");
  const alice = seen.find((p) => p.cn === "alice");
  if (greeting !== "hello\n" || !alice?.fingerprint) {
    throw new Error(`alice was not served over mutual TLS (got ${JSON.stringify(greeting)})`);
  }
  await dial("mallory").catch(() => "");
  if (seen.some((p) => p.cn === "mallory")) {
    throw new Error("the revoked client mallory was served");
  }
  // The refusal is reported once the server has processed the handshake.
  const deadline = Date.now() + 5000;
  while (refused.length === 0 && Date.now() < deadline) await delay(10);
  if (refused.length === 0) throw new Error("the revoked client mallory was not refused");

  return [
    `CA "${ca.name}" sha256 ${short(ca.fingerprint)}, server certificate "${server.name}" sha256 ${
      short(server.fingerprint)
    }`,
    `client certificates issued: ${clients.join(", ")} (keys mode 0600)`,
    `mutual TLS on 127.0.0.1:${listener.port}: alice accepted as CN=${alice.cn}, sha256 ${
      short(alice.fingerprint)
    }`,
    `revoked client mallory refused: ${refused[0]}`,
  ];
}
