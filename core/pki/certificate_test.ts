import assert from "node:assert/strict";
import { certificateVersion, parseCertificates, splitPem } from "./certificate.ts";
import { generateKeyPair } from "./keys.ts";
import { buildCa } from "./_build.ts";

/** A self-signed X.509 v1 certificate (CN=legacy), as `openssl x509 -req -signkey` makes it. */
const V1_PEM = `-----BEGIN CERTIFICATE-----
MIIBHTCBxQIUR3TPMzc7xWHO6JFoEvygTJrkfh0wCgYIKoZIzj0EAwIwETEPMA0G
A1UEAwwGbGVnYWN5MCAXDTI2MTEyNTEzMjQzN1oYDzIxMjYxMTAxMTMyNDM3WjAR
MQ8wDQYDVQQDDAZsZWdhY3kwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAAQQvCng
8u8qyJ+qiRl/ksXczmsjxJ3vndv2t3ToeRz/xSCyMsYSq1M+QobKxnZ4f2wyuXZx
YFHFI6YLMxfZglPyMAoGCCqGSM49BAMCA0cAMEQCIBLESywodCiKBIJa864XaxQF
x24NCNEN7oXFWPvZGLAEAiBQ233J+RG6kUrjMpReryn01G0l1flonfvNfNwqEn92
TA==
-----END CERTIFICATE-----
`;

Deno.test("certificateVersion() reads v3 from a generated certificate and v1 from an openssl one", async () => {
  const ca = await buildCa(await generateKeyPair("ecdsa"), "ecdsa", 30);
  assert.equal(certificateVersion(new Uint8Array(ca.rawData)), 3);
  const [v1] = await parseCertificates(V1_PEM, "certificate", "legacy.pem");
  assert.equal(v1!.version, 1);
  assert.equal(v1!.cn, "legacy");
  assert.equal(v1!.selfSigned, true);
  assert.equal(v1!.isCa, false);
});

Deno.test("certificateVersion() rejects bytes that are not a DER certificate", () => {
  assert.throws(() => certificateVersion(new Uint8Array([1, 2, 3])), SyntaxError);
});

Deno.test("splitPem() returns each certificate of a bundle and skips keys", async () => {
  const ca = await buildCa(await generateKeyPair("ecdsa"), "ecdsa", 30);
  const bundle = "junk\n" + ca.toString("pem") + "\n-----BEGIN PRIVATE KEY-----\nAAAA\n" +
    "-----END PRIVATE KEY-----\n" + V1_PEM;
  const blocks = splitPem(bundle);
  assert.equal(blocks.length, 2);
  assert.ok(blocks.every((b) => b.startsWith("-----BEGIN CERTIFICATE-----")));
  const certs = await parseCertificates(bundle, "client allow-list", "allowed.pem");
  assert.deepEqual(certs.map((c) => c.cn), ["sockkit CA", "legacy"]);
  assert.match(certs[0]!.fingerprint, /^[0-9a-f]{64}$/);
});

Deno.test("parseCertificates() names the file when it holds no certificate", async () => {
  await assert.rejects(
    parseCertificates("hello", "server certificate", "certs/server.pem"),
    {
      message:
        'No certificate in server certificate "certs/server.pem": expected PEM "-----BEGIN CERTIFICATE-----" blocks',
    },
  );
});
