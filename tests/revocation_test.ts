/**
 * Revocation against a real TLS listener: every certificate ever issued for
 * a name is revoked with it, by fingerprint or serial, and a certificate
 * directory whose revocation list disappears fails closed.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { issueClient, loadClientTls, revoke } from "../core/pki/mod.ts";
import { helloListener, makePki, readToClose, tempDir } from "./harness/mod.ts";

Deno.test("revoking a name revokes every certificate issued for it, and a missing revocation list fails closed", async () => {
  await using pki = await makePki({ clients: ["alice", "carol"] });
  // Keep the first carol certificate, then issue carol again.
  await using oldTmp = await tempDir("sockkit-old-carol-");
  const oldDir = oldTmp.path;
  const old = { cert: join(oldDir, "carol.pem"), key: join(oldDir, "carol.key") };
  await Deno.copyFile(pki.client("carol").cert, old.cert);
  await Deno.copyFile(pki.client("carol").key, old.key);
  await issueClient(pki.dir, "carol", { force: true });

  await using server = await helloListener(pki);
  const lastRefusal = () => {
    const r = server.refused.at(-1);
    return r && `${r.kind}: ${r.reason}`;
  };
  const as = async (files: { cert: string; key: string }) => ({
    ...(await loadClientTls({ ca: pki.paths.ca, ...files })),
    servername: "localhost",
  });

  assert.equal(await readToClose(server.port, await as(old)), "hello carol\n");
  await revoke(pki.dir, "carol");
  // Before: only the current carol certificate was revoked.
  assert.doesNotMatch(await readToClose(server.port, await as(old)), /hello/);
  assert.doesNotMatch(await readToClose(server.port, await as(pki.client("carol"))), /hello/);
  assert.match(lastRefusal()!, /^revoked: certificate CN=carol was revoked/);
  assert.equal(await readToClose(server.port, await as(pki.client("alice"))), "hello alice\n");

  // Deleting the list must not make revoked clients acceptable again.
  await Deno.remove(pki.paths.revoked);
  assert.doesNotMatch(await readToClose(server.port, await as(old)), /hello/);
  assert.doesNotMatch(await readToClose(server.port, await as(pki.client("alice"))), /hello/);
  assert.match(lastRefusal()!, /revocation list .* is missing/);
});
