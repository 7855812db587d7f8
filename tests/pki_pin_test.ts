/**
 * Allow-listed self-signed certificates are pins, not CAs: real TLS on
 * loopback, certificates made with openssl as the replaced tools' users make
 * them, `sockkit certs allow/revoke` as subprocesses.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { loadClientTls } from "../core/pki/mod.ts";
import { helloListener, makePki, readToClose, runCli, tempDir } from "./harness/mod.ts";
import { opensslCsr, opensslSign, readmeCert } from "./_openssl.ts";

Deno.test("an allow-listed self-signed certificate admits only itself; issuers are revocation-checked", async (t) => {
  await using pki = await makePki({ clients: ["alice"] });
  await using workDir = await tempDir("sockkit-pin-");
  const work = workDir.path;
  const leafExt = join(work, "leaf.ext");
  await Deno.writeTextFile(leafExt, "basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n");
  const caExt = join(work, "ca.ext");
  await Deno.writeTextFile(caExt, "basicConstraints=critical,CA:TRUE\nkeyUsage=keyCertSign\n");

  // carol's own certificate (openssl req -x509: CA:TRUE), and a CN=alice one signed with her key
  const carol = await readmeCert(work, "carol", "carol");
  const fake = await opensslCsr(work, "fake", "alice");
  const fakeCert = await opensslSign(fake.csr, carol, join(work, "fake.pem"), leafExt);
  const fakeChain = join(work, "fakechain.pem");
  await Deno.writeTextFile(
    fakeChain,
    (await Deno.readTextFile(fakeCert)) + (await Deno.readTextFile(carol.cert)),
  );
  // an operator CA, a leaf under it and one under an intermediate it signed
  const op = await readmeCert(work, "opca", "Operator CA");
  const dave = await opensslCsr(work, "dave", "dave");
  const daveCert = await opensslSign(dave.csr, op, join(work, "dave.pem"), leafExt);
  const inter = await opensslCsr(work, "inter", "Intermediate");
  const interCert = await opensslSign(inter.csr, op, join(work, "inter.pem"), caExt);
  const erin = await opensslCsr(work, "erin", "erin");
  const erinLeaf = await opensslSign(
    erin.csr,
    { cert: interCert, key: inter.key },
    join(work, "erin-leaf.pem"),
    leafExt,
  );
  const erinCert = join(work, "erin.pem");
  await Deno.writeTextFile(
    erinCert,
    (await Deno.readTextFile(erinLeaf)) + (await Deno.readTextFile(interCert)),
  );

  for (const args of [["certs", "allow", carol.cert], ["certs", "allow", "--ca", op.cert]]) {
    const r = await runCli([...args, "--dir", pki.dir]);
    assert.equal(r.code, 0, r.stderr);
  }

  await using server = await helloListener(pki);
  const { accepted, refused } = server;
  const hello = async (cert: string, key: string) =>
    await readToClose(server.port, await loadClientTls({ ca: pki.paths.ca, cert, key }));
  const refusedWith = async (cert: string, key: string, reason: RegExp) => {
    const count = refused.length;
    assert.doesNotMatch(await hello(cert, key), /hello/);
    assert.equal(refused.length, count + 1);
    assert.match(refused.at(-1)!.reason, reason);
  };
  const pinned =
    /client certificate not allowed \(issued by CN=carol \(sha256 [0-9a-f]{64}\), an allow-listed certificate that is pinned/;

  await t.step("the pinned self-signed certificate is accepted as itself", async () => {
    assert.equal(await hello(carol.cert, carol.key), "hello carol\n");
  });

  await t.step(
    "a CN=alice certificate signed with carol's key is refused, naming why",
    async () => {
      await refusedWith(fakeCert, fake.key, pinned);
      await refusedWith(fakeChain, fake.key, pinned);
    },
  );

  await t.step(
    "certificates chained to the project CA and to an --ca operator CA work",
    async () => {
      assert.equal(await hello(pki.client("alice").cert, pki.client("alice").key), "hello alice\n");
      assert.equal(await hello(daveCert, dave.key), "hello dave\n");
      assert.equal(await hello(erinCert, erin.key), "hello erin\n");
      assert.deepEqual(accepted.at(-1)!.issuers!.map((i) => i.cn), ["Intermediate", "Operator CA"]);
    },
  );

  await t.step("after revoking carol, she and the certificate she signed are refused", async () => {
    const r = await runCli(["certs", "revoke", "carol", "--dir", pki.dir]);
    assert.equal(r.code, 0, r.stderr);
    await refusedWith(carol.cert, carol.key, /^certificate CN=carol was revoked at /);
    await refusedWith(fakeCert, fake.key, pinned);
  });

  await t.step("revoking an issuing CA refuses the certificates under it", async () => {
    const r = await runCli(["certs", "revoke", "Operator CA", "--dir", pki.dir]);
    assert.equal(r.code, 0, r.stderr);
    await refusedWith(
      daveCert,
      dave.key,
      /^certificate CN=dave was issued by CN=Operator CA, which was revoked at /,
    );
    await refusedWith(
      erinCert,
      erin.key,
      /^certificate CN=erin was issued by CN=Operator CA, which was revoked at /,
    );
    assert.equal(await hello(pki.client("alice").cert, pki.client("alice").key), "hello alice\n");
  });
});
