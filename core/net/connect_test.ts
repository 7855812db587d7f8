import assert from "node:assert/strict";
import { join } from "node:path";
import { certificateNames, connect, listen } from "./mod.ts";
import { initPki, loadClientTls, loadServerTls } from "../pki/mod.ts";

/** Two PKIs (a server certificate for "srv.test" only) and a TLS listener serving the first one's. */
async function setup() {
  const dir = await Deno.makeTempDir({ prefix: "sockkit-connect-" });
  const ours = await initPki(join(dir, "ours"), { hosts: ["srv.test"] });
  const theirs = await initPki(join(dir, "theirs"), { hosts: ["srv.test"] });
  const server = await listen({
    host: "127.0.0.1",
    port: 0,
    tls: await loadServerTls({ cert: ours.serverCert, key: ours.serverKey }),
  }, (conn) => conn.closed);
  return {
    port: server.port,
    ca: (await loadClientTls({ ca: ours.ca })).ca!,
    otherCa: (await loadClientTls({ ca: theirs.ca })).ca!,
    async [Symbol.asyncDispose]() {
      await server.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

Deno.test("connect() names the certificate's host names when it is for another one, and checkServerName: false accepts it only with a CA that signed it", async () => {
  await using s = await setup();
  const err = await connect({ host: "localhost", port: s.port, tls: { ca: s.ca } }).then(
    () => assert.fail("connected to a server whose certificate is not for localhost"),
    (e: unknown) => e,
  );
  assert.match(String(err), /does not match.*; the server certificate is for "srv\.test"/);
  assert.deepEqual(certificateNames(err), ["srv.test"]);

  {
    await using conn = await connect({
      host: "localhost",
      port: s.port,
      tls: { ca: s.ca, checkServerName: false },
    });
    assert.ok(conn);
  }

  await assert.rejects(
    connect({ host: "localhost", port: s.port, tls: { ca: s.otherCa, checkServerName: false } }),
    (e: unknown) => {
      assert.match(String(e), /unable to (get local issuer|verify)|self[- ]signed/i);
      assert.equal(certificateNames(e), undefined);
      return true;
    },
  );
});
