/**
 * Real TLS on loopback: `listen()`/`connect()` from core/net with material
 * from core/pki, checking which client certificates the listener accepts.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { listen, type TlsMaterial } from "../core/net/mod.ts";
import {
  allowCert,
  issueClient,
  listCerts,
  loadClientTls,
  loadServerTls,
  revoke,
} from "../core/pki/mod.ts";
import { helloListener, makePki, mtlsListener, readToClose, tempDir } from "./harness/mod.ts";
import { openssl, opensslCsr, opensslSign, readmeCert } from "./_openssl.ts";

/** A v1 certificate: a CSR signed with `openssl x509 -req` and no `-extfile`. */
async function opensslV1(
  dir: string,
  cn: string,
  ca: { cert: string; key: string },
): Promise<{ cert: string; key: string }> {
  const { key, csr } = await opensslCsr(dir, cn, cn);
  return { cert: await opensslSign(csr, ca, join(dir, `${cn}.pem`)), key };
}

Deno.test("TLS listener accepts allow-listed and CA-issued client certificates and refuses the rest", async (t) => {
  await using pki = await makePki({ clients: ["alice", "mallory"] });
  await using other = await makePki({ clients: ["eve"] });
  await using workDir = await tempDir("sockkit-tls-");
  const work = workDir.path;
  const selfie = await readmeCert(work, "selfie", "selfie");
  await allowCert(pki.dir, selfie.cert);
  const old = await issueClient(pki.dir, "old", {
    notBefore: new Date(Date.now() - 10 * 86_400_000),
    days: 1,
  });

  await using server = await helloListener(pki);
  const { accepted, refused } = server;
  const listing = await listCerts(pki.dir);
  const fingerprintOf = (name: string) => listing.find((r) => r.name === name)?.fingerprint;
  const client = (name: string) => loadClientTls({ ca: pki.paths.ca, ...pki.client(name) });

  const lastRefusal = () => refused.at(-1)!;
  const aliceStillServed = async () => {
    assert.equal(await readToClose(server.port, await client("alice")), "hello alice\n");
  };

  await t.step(
    "a CA-issued client certificate is accepted with its CN and fingerprint",
    async () => {
      assert.equal(await readToClose(server.port, await client("alice")), "hello alice\n");
      const peer = accepted.at(-1)!;
      assert.equal(peer.cn, "alice");
      assert.equal(peer.authorized, true);
      assert.match(peer.fingerprint!, /^[0-9a-f]{64}$/);
      assert.equal(peer.fingerprint, fingerprintOf("alice"));
      assert.equal(peer.address, "127.0.0.1");
    },
  );

  await t.step("an allow-listed self-signed openssl certificate is accepted", async () => {
    const tlsOpts = await loadClientTls({ ca: pki.paths.ca, ...selfie });
    assert.equal(await readToClose(server.port, tlsOpts), "hello selfie\n");
    const peer = accepted.at(-1)!;
    assert.equal(peer.cn, "selfie");
    const row = listing.find((r) => r.name === "selfie");
    assert.equal(row?.kind, "allowed");
    assert.equal(peer.fingerprint, row?.fingerprint);
  });

  await t.step("a revoked certificate is refused from the next connection on", async () => {
    assert.equal(await readToClose(server.port, await client("mallory")), "hello mallory\n");
    await revoke(pki.dir, "mallory");
    const before = accepted.length;
    const reply = await readToClose(server.port, await client("mallory"));
    assert.doesNotMatch(reply, /hello/);
    assert.equal(accepted.length, before);
    assert.equal(lastRefusal().cn, "mallory");
    assert.match(lastRefusal().reason, /^certificate CN=mallory was revoked at \d{4}-/);
    await aliceStillServed();
  });

  await t.step("a certificate from an unknown CA is refused", async () => {
    const tlsOpts = await loadClientTls({ ca: pki.paths.ca, ...other.client("eve") });
    const count = refused.length;
    assert.doesNotMatch(await readToClose(server.port, tlsOpts), /hello/);
    assert.equal(refused.length, count + 1);
    assert.match(lastRefusal().reason, /client certificate not allowed/);
    await aliceStillServed();
  });

  await t.step("an expired certificate is refused", async () => {
    const tlsOpts = await loadClientTls({ ca: pki.paths.ca, ...old });
    const count = refused.length;
    assert.doesNotMatch(await readToClose(server.port, tlsOpts), /hello/);
    assert.equal(refused.length, count + 1);
    assert.equal(lastRefusal().cn, "old");
    assert.match(lastRefusal().reason, /^client certificate expired on \d{4}-/);
    await aliceStillServed();
  });

  await t.step("a TLS client without a certificate is refused", async () => {
    const count = refused.length;
    assert.doesNotMatch(
      await readToClose(server.port, { ca: [await Deno.readTextFile(pki.paths.ca)] }),
      /hello/,
    );
    assert.equal(refused.length, count + 1);
    assert.match(lastRefusal().reason, /no client certificate presented/);
    await aliceStillServed();
  });

  await t.step("a plain TCP client is refused", async () => {
    const count = refused.length;
    assert.doesNotMatch(await readToClose(server.port), /hello/);
    assert.equal(refused.length, count + 1);
    assert.match(lastRefusal().reason, /^TLS handshake failed/);
    await aliceStillServed();
  });
});

Deno.test("a v1 certificate gives a clear error naming the file and the fix", async (t) => {
  await using pki = await makePki();
  await using workDir = await tempDir("sockkit-v1-");
  const work = workDir.path;
  const ca = { cert: pki.paths.ca, key: pki.paths.caKey };
  const v1 = await opensslV1(work, "oldstyle", ca);
  const message = new RegExp(
    `Certificate "${v1.cert.replaceAll("/", "\\/")}" \\(CN=oldstyle\\) is X\\.509 v1, ` +
      `which Deno's TLS \\(rustls\\) rejects: re-create it as v3 \\(sockkit certs issue NAME`,
  );

  await t.step("loadClientTls refuses it", async () => {
    await assert.rejects(loadClientTls({ ca: pki.paths.ca, ...v1 }), message);
  });

  await t.step("loadServerTls refuses it as the server certificate", async () => {
    await assert.rejects(
      loadServerTls({ cert: v1.cert, key: v1.key }),
      /is X\.509 v1, which Deno's TLS \(rustls\) rejects: re-create it as v3 \(sockkit certs init/,
    );
  });

  await t.step("allowCert refuses a self-signed v1 certificate", async () => {
    const cert = join(work, "selfv1.pem");
    await openssl(
      ["x509", "-req", "-in", join(work, "oldstyle.csr"), "-signkey", v1.key, "-out", cert],
      work,
    );
    await assert.rejects(allowCert(pki.dir, cert), /selfv1\.pem" \(CN=oldstyle\) is X\.509 v1/);
  });

  await t.step("Deno's TLS really refuses a v1 client certificate", async () => {
    const accepted: string[] = [];
    const refused: string[] = [];
    await using server = await mtlsListener(
      pki,
      { onRefused: (_peer, reason) => refused.push(reason) },
      async (conn) => {
        accepted.push(conn.peer.cn ?? "");
        await conn.end("hello\n");
      },
    );
    // Bypass loadClientTls's check to show what it protects against.
    const raw = {
      ca: [await Deno.readTextFile(pki.paths.ca)],
      cert: await Deno.readTextFile(v1.cert),
      key: await Deno.readTextFile(v1.key),
    };
    assert.doesNotMatch(await readToClose(server.port, raw), /hello/);
    assert.deepEqual(accepted, []);
    assert.match(refused[0]!, /client certificate not allowed/);

    // The same key and CSR signed as v3 (with -extfile) is accepted.
    const ext = join(work, "v3.ext");
    await Deno.writeTextFile(ext, "basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n");
    const v3cert = join(work, "oldstyle-v3.pem");
    await opensslSign(join(work, "oldstyle.csr"), ca, v3cert, ext);
    const v3 = await loadClientTls({ ca: pki.paths.ca, cert: v3cert, key: v1.key });
    assert.equal(await readToClose(server.port, v3), "hello\n");
    assert.deepEqual(accepted, ["oldstyle"]);
  });
});

Deno.test("a self-signed CA:TRUE server certificate serves; a CA-signed CA:TRUE leaf loads with a warning", async (t) => {
  await using pki = await makePki({ clients: ["alice"] });
  await using workDir = await tempDir("sockkit-ca-leaf-");
  const work = workDir.path;
  await t.step("a self-signed openssl req -x509 certificate as the server's own", async () => {
    const s = await readmeCert(work, "localhost");
    const warnings: string[] = [];
    const material = await loadServerTls({
      cert: s.cert,
      key: s.key,
      onWarning: (w) => warnings.push(w),
    });
    assert.deepEqual(warnings, []);
    await using server = await listen(
      { host: "127.0.0.1", port: 0, tls: material },
      async (conn) => await conn.end("hello\n"),
    );
    const clientTls = await loadClientTls({ ca: s.cert });
    assert.equal(
      await readToClose(server.port, { ...clientTls, servername: "localhost" }),
      "hello\n",
    );
  });

  await t.step(
    "a CA-signed server certificate with CA:TRUE fails the client's handshake",
    async () => {
      const { key, csr } = await opensslCsr(work, "srv", "localhost");
      const signed = async (ca: boolean) => {
        const ext = join(work, `srv-${ca}.ext`);
        const cert = join(work, `srv-${ca}.pem`);
        await Deno.writeTextFile(
          ext,
          `basicConstraints=critical,CA:${ca ? "TRUE" : "FALSE"}\n` +
            "subjectAltName=DNS:localhost,IP:127.0.0.1\n",
        );
        return await opensslSign(csr, { cert: pki.paths.ca, key: pki.paths.caKey }, cert, ext);
      };
      const caTrue = await signed(true);
      const caFalse = await signed(false);
      const warnings: string[] = [];
      await loadServerTls({ cert: caTrue, key, onWarning: (w) => warnings.push(w) });
      assert.equal(warnings.length, 1);
      assert.match(
        warnings[0]!,
        /has basicConstraints CA:TRUE and is signed by "CN=.*": sockkit's clients/,
      );
      const clientTls = await loadClientTls({ ca: pki.paths.ca, ...pki.client("alice") });
      const serve = async (material: TlsMaterial) => {
        await using server = await listen(
          { host: "127.0.0.1", port: 0, tls: material },
          async (conn) => await conn.end("hello\n"),
        );
        return await readToClose(server.port, clientTls);
      };
      // The same key and CSR with CA:FALSE works (through loadServerTls)...
      assert.equal(await serve(await loadServerTls({ cert: caFalse, key })), "hello\n");
      // ...while CA:TRUE fails on the client side, as the warning says.
      const reply = await serve({
        cert: await Deno.readTextFile(caTrue),
        key: await Deno.readTextFile(key),
      });
      assert.match(reply, /^error: Cannot connect to 127\.0\.0\.1:\d+/);
    },
  );
});
