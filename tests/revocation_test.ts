/**
 * Revocation against a real TLS listener: every certificate ever issued for
 * a name is revoked with it, by fingerprint or serial, and a certificate
 * directory whose revocation list disappears fails closed.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { type ClientTlsOptions, connect, listen } from "../core/net/mod.ts";
import {
  issueClient,
  loadClientTls,
  loadServerTls,
  revocationCheck,
  revoke,
} from "../core/pki/mod.ts";
import { makePki } from "./harness/mod.ts";

const dec = new TextDecoder();

async function greeting(port: number, tls: ClientTlsOptions): Promise<string> {
  let conn;
  try {
    conn = await connect({ host: "127.0.0.1", port, tls, timeoutMs: 5000 });
  } catch (err) {
    return `error: ${(err as Error).message}`;
  }
  let text = "";
  for await (const chunk of conn.readable()) text += dec.decode(chunk);
  conn.destroy();
  return text;
}

Deno.test("revoking a name revokes every certificate issued for it, and a missing revocation list fails closed", async () => {
  await using pki = await makePki({ clients: ["alice", "carol"] });
  // Keep the first carol certificate, then issue carol again.
  const oldDir = await Deno.makeTempDir({ prefix: "sockkit-old-carol-" });
  try {
    const old = { cert: join(oldDir, "carol.pem"), key: join(oldDir, "carol.key") };
    await Deno.copyFile(pki.client("carol").cert, old.cert);
    await Deno.copyFile(pki.client("carol").key, old.key);
    await issueClient(pki.dir, "carol", { force: true });

    const tls = await loadServerTls({
      cert: pki.paths.serverCert,
      key: pki.paths.serverKey,
      clientCerts: pki.paths.allowList,
    });
    const refused: string[] = [];
    await using server = await listen({
      host: "127.0.0.1",
      port: 0,
      tls,
      requireClientCert: true,
      authorize: revocationCheck(pki.paths.revoked),
      onRefused: (_peer, reason, kind) => refused.push(`${kind}: ${reason}`),
    }, (conn) => conn.end(`hello ${conn.peer.cn}\n`));
    const as = async (files: { cert: string; key: string }) => ({
      ...(await loadClientTls({ ca: pki.paths.ca, ...files })),
      servername: "localhost",
    });

    assert.equal(await greeting(server.port, await as(old)), "hello carol\n");
    await revoke(pki.dir, "carol");
    // Before: only the current carol certificate was revoked.
    assert.doesNotMatch(await greeting(server.port, await as(old)), /hello/);
    assert.doesNotMatch(await greeting(server.port, await as(pki.client("carol"))), /hello/);
    assert.match(refused.at(-1)!, /^revoked: certificate CN=carol was revoked/);
    assert.equal(await greeting(server.port, await as(pki.client("alice"))), "hello alice\n");

    // Deleting the list must not make revoked clients acceptable again.
    await Deno.remove(pki.paths.revoked);
    assert.doesNotMatch(await greeting(server.port, await as(old)), /hello/);
    assert.doesNotMatch(await greeting(server.port, await as(pki.client("alice"))), /hello/);
    assert.match(refused.at(-1)!, /revocation list .* is missing/);
  } finally {
    await Deno.remove(oldDir, { recursive: true });
  }
});
