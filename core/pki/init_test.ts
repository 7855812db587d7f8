import assert from "node:assert/strict";
import { join } from "node:path";
import { x509 } from "./_x509.ts";
import { parseCertificates } from "./certificate.ts";
import { initPki } from "./init.ts";
import { issueClient } from "./issue.ts";
import { certPaths } from "./paths.ts";
import { tempDir } from "../../tests/harness/mod.ts";

async function readCert(path: string) {
  const [c] = await parseCertificates(await Deno.readTextFile(path), "certificate", path);
  return c!;
}

const mode = async (path: string) => (await Deno.stat(path)).mode! & 0o777;

Deno.test("initPki() creates a v3 CA, a server certificate for the hosts and the allow-list", async () => {
  await using tmp = await tempDir("sockkit-pki-unit-");
  const dir = tmp.path;
  const p = await initPki(dir, { hosts: ["example.test", "10.1.2.3", "::1"], days: 30 });
  const ca = await readCert(p.ca);
  assert.equal(ca.version, 3);
  assert.equal(ca.isCa, true);
  const ku = ca.cert.getExtension(x509.KeyUsagesExtension)!;
  assert.ok(ku.usages & x509.KeyUsageFlags.keyCertSign);

  const server = await readCert(p.serverCert);
  assert.equal(server.version, 3);
  assert.equal(server.isCa, false);
  assert.equal(server.cn, "example.test");
  assert.equal(server.issuer, ca.subject);
  assert.ok(await server.cert.verify({ publicKey: ca.cert.publicKey, signatureOnly: true }));
  const san = server.cert.getExtension(x509.SubjectAlternativeNameExtension)!;
  assert.deepEqual(
    san.names.toJSON().map((n) => `${n.type}:${n.value}`),
    ["dns:example.test", "ip:10.1.2.3", "ip:::1"],
  );
  const eku = server.cert.getExtension(x509.ExtendedKeyUsageExtension)!;
  assert.deepEqual([...eku.usages], [x509.ExtendedKeyUsage.serverAuth]);
  const days = (server.notAfter.getTime() - server.notBefore.getTime()) / 86_400_000;
  assert.equal(days, 30);

  assert.equal(await Deno.readTextFile(p.allowList), await Deno.readTextFile(p.ca));
  assert.equal(await Deno.readTextFile(p.revoked), "[]\n");
  assert.equal(await mode(p.caKey), 0o600);
  assert.equal(await mode(p.serverKey), 0o600);
  assert.match(await Deno.readTextFile(p.caKey), /^-----BEGIN PRIVATE KEY-----\n/);
});

Deno.test("initPki() refuses to overwrite an existing directory without force", async () => {
  await using tmp = await tempDir("sockkit-pki-unit-");
  const dir = tmp.path;
  const p = await initPki(dir);
  const before = await Deno.readTextFile(p.caKey);
  await assert.rejects(initPki(dir), {
    message: `Refusing to overwrite "${p.caKey}": it already exists (pass --force to replace it)`,
  });
  assert.equal(await Deno.readTextFile(p.caKey), before);
  await initPki(dir, { force: true });
  assert.notEqual(await Deno.readTextFile(p.caKey), before);
  assert.equal(await mode(p.caKey), 0o600);
});

Deno.test("initPki() with force keeps individually allowed certificates in the allow-list", async () => {
  await using tmp = await tempDir("sockkit-pki-unit-");
  const dir = tmp.path;
  const p = await initPki(dir);
  const other = join(dir, "other");
  const o = await initPki(other);
  const extra = await Deno.readTextFile(o.ca);
  await Deno.writeTextFile(p.allowList, (await Deno.readTextFile(p.allowList)) + extra);
  await initPki(dir, { force: true });
  const list = await parseCertificates(await Deno.readTextFile(p.allowList), "", p.allowList);
  const newCa = await readCert(p.ca);
  assert.deepEqual(list.map((c) => c.pem), [newCa.pem, extra]);
});

Deno.test("initPki() with rsa makes RSA keys and issueClient() follows the CA's algorithm", async () => {
  await using tmp = await tempDir("sockkit-pki-unit-");
  const dir = tmp.path;
  const p = await initPki(dir, { algorithm: "rsa" });
  assert.equal((await readCert(p.serverCert)).cert.publicKey.algorithm.name, "RSASSA-PKCS1-v1_5");
  const { cert } = await issueClient(dir, "rsa-client");
  assert.equal((await readCert(cert)).cert.publicKey.algorithm.name, "RSASSA-PKCS1-v1_5");
});

Deno.test("issueClient() signs CN=NAME with clientAuth and writes the key with mode 0600", async () => {
  await using tmp = await tempDir("sockkit-pki-unit-");
  const dir = tmp.path;
  const p = await initPki(dir);
  const out = await issueClient(dir, "alice", { days: 10 });
  assert.deepEqual(out, { cert: p.clientCert("alice"), key: p.clientKey("alice") });
  const c = await readCert(out.cert);
  const ca = await readCert(p.ca);
  assert.equal(c.cn, "alice");
  assert.equal(c.version, 3);
  assert.equal(c.isCa, false);
  assert.ok(await c.cert.verify({ publicKey: ca.cert.publicKey, signatureOnly: true }));
  const eku = c.cert.getExtension(x509.ExtendedKeyUsageExtension)!;
  assert.deepEqual([...eku.usages], [x509.ExtendedKeyUsage.clientAuth]);
  assert.equal(await mode(out.key), 0o600);
  await assert.rejects(issueClient(dir, "alice"), {
    message: `Refusing to overwrite "${out.key}": it already exists (pass --force to replace it)`,
  });
  await issueClient(dir, "alice", { force: true });
  assert.notEqual((await readCert(out.cert)).fingerprint, c.fingerprint);
});

Deno.test("issueClient() can backdate a certificate so that it is already expired", async () => {
  await using tmp = await tempDir("sockkit-pki-unit-");
  const dir = tmp.path;
  await initPki(dir);
  const notBefore = new Date(Date.now() - 5 * 86_400_000);
  const { cert } = await issueClient(dir, "old", { notBefore, days: 1 });
  const c = await readCert(cert);
  assert.ok(c.notAfter.getTime() < Date.now());
});

Deno.test("issueClient() rejects unsafe names and explains a missing CA", async () => {
  await using tmp = await tempDir("sockkit-pki-unit-");
  const dir = tmp.path;
  await assert.rejects(issueClient(dir, "../evil"), TypeError);
  await assert.rejects(issueClient(dir, ""), /Invalid client name ""/);
  await assert.rejects(issueClient(dir, "bob"), {
    message: `Cannot read CA certificate "${
      certPaths(dir).ca
    }": file not found (run "sockkit certs init" first)`,
  });
});
