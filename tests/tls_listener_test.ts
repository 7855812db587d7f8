/**
 * Real TLS on loopback: `listen()`/`connect()` from core/net with material
 * from core/pki, checking which client certificates the listener accepts.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  type ClientTlsOptions,
  connect,
  listen,
  type PeerIdentity,
  type TlsMaterial,
} from "../core/net/mod.ts";
import {
  allowCert,
  issueClient,
  listCerts,
  loadClientTls,
  loadServerTls,
  revocationCheck,
  revoke,
} from "../core/pki/mod.ts";
import { makePki } from "./harness/mod.ts";

const dec = new TextDecoder();

/** Runs openssl (tests only: it makes certificates the way users make them). */
async function openssl(args: string[], cwd: string): Promise<void> {
  const out = await new Deno.Command("openssl", { args, cwd, stdout: "piped", stderr: "piped" })
    .output();
  if (!out.success) throw new Error(`openssl ${args.join(" ")} failed: ${dec.decode(out.stderr)}`);
}

/** A self-signed client certificate as the replaced daemon's README makes it (v3, CA:TRUE). */
async function opensslSelfSigned(dir: string, cn: string): Promise<{ cert: string; key: string }> {
  const cert = join(dir, `${cn}.pem`);
  const key = join(dir, `${cn}.key`);
  await openssl([
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    key,
    "-out",
    cert,
    "-days",
    "30",
    "-subj",
    `/CN=${cn}`,
  ], dir);
  return { cert, key };
}

/** A v1 certificate: a CSR signed with `openssl x509 -req` and no `-extfile`. */
async function opensslV1(
  dir: string,
  cn: string,
  ca: { cert: string; key: string },
): Promise<{ cert: string; key: string }> {
  const key = join(dir, `${cn}.key`);
  const csr = join(dir, `${cn}.csr`);
  const cert = join(dir, `${cn}.pem`);
  await openssl(
    [
      "req",
      "-new",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      key,
      "-out",
      csr,
      "-subj",
      `/CN=${cn}`,
    ],
    dir,
  );
  await openssl([
    "x509",
    "-req",
    "-in",
    csr,
    "-CA",
    ca.cert,
    "-CAkey",
    ca.key,
    "-CAcreateserial",
    "-out",
    cert,
    "-days",
    "30",
  ], dir);
  return { cert, key };
}

/**
 * Connects, reads until the server closes, and returns what it sent, or
 * `error: ...` when the connection failed.
 */
async function exchange(port: number, tls?: ClientTlsOptions): Promise<string> {
  // A TLS client only listens (input the server never reads would keep its
  // socket open); a plain TCP client must send bytes to fail the handshake.
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

Deno.test("TLS listener accepts allow-listed and CA-issued client certificates and refuses the rest", async (t) => {
  await using pki = await makePki({ clients: ["alice", "mallory"] });
  await using other = await makePki({ clients: ["eve"] });
  const work = await Deno.makeTempDir({ prefix: "sockkit-tls-" });
  try {
    const selfie = await opensslSelfSigned(work, "selfie");
    await allowCert(pki.dir, selfie.cert);
    const old = await issueClient(pki.dir, "old", {
      notBefore: new Date(Date.now() - 10 * 86_400_000),
      days: 1,
    });

    const tls = await loadServerTls({
      cert: pki.paths.serverCert,
      key: pki.paths.serverKey,
      clientCerts: pki.paths.allowList,
    });
    const accepted: PeerIdentity[] = [];
    const refused: Array<{ cn: string | undefined; reason: string }> = [];
    await using server = await listen({
      host: "127.0.0.1",
      port: 0,
      tls,
      requireClientCert: true,
      authorize: revocationCheck(pki.paths.revoked),
      onRefused: (peer, reason) => refused.push({ cn: peer?.cn, reason }),
    }, async (conn) => {
      accepted.push(conn.peer);
      await conn.end(`hello ${conn.peer.cn}\n`);
    });
    const listing = await listCerts(pki.dir);
    const fingerprintOf = (name: string) => listing.find((r) => r.name === name)?.fingerprint;
    const client = (name: string) => loadClientTls({ ca: pki.paths.ca, ...pki.client(name) });

    const lastRefusal = () => refused.at(-1)!;
    const aliceStillServed = async () => {
      assert.equal(await exchange(server.port, await client("alice")), "hello alice\n");
    };

    await t.step(
      "a CA-issued client certificate is accepted with its CN and fingerprint",
      async () => {
        assert.equal(await exchange(server.port, await client("alice")), "hello alice\n");
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
      assert.equal(await exchange(server.port, tlsOpts), "hello selfie\n");
      const peer = accepted.at(-1)!;
      assert.equal(peer.cn, "selfie");
      const row = listing.find((r) => r.name === "selfie");
      assert.equal(row?.kind, "allowed");
      assert.equal(peer.fingerprint, row?.fingerprint);
    });

    await t.step("a revoked certificate is refused from the next connection on", async () => {
      assert.equal(await exchange(server.port, await client("mallory")), "hello mallory\n");
      await revoke(pki.dir, "mallory");
      const before = accepted.length;
      const reply = await exchange(server.port, await client("mallory"));
      assert.doesNotMatch(reply, /hello/);
      assert.equal(accepted.length, before);
      assert.equal(lastRefusal().cn, "mallory");
      assert.match(lastRefusal().reason, /^certificate CN=mallory was revoked at \d{4}-/);
      await aliceStillServed();
    });

    await t.step("a certificate from an unknown CA is refused", async () => {
      const tlsOpts = await loadClientTls({ ca: pki.paths.ca, ...other.client("eve") });
      const count = refused.length;
      assert.doesNotMatch(await exchange(server.port, tlsOpts), /hello/);
      assert.equal(refused.length, count + 1);
      assert.match(lastRefusal().reason, /client certificate not allowed/);
      await aliceStillServed();
    });

    await t.step("an expired certificate is refused", async () => {
      const tlsOpts = await loadClientTls({ ca: pki.paths.ca, ...old });
      const count = refused.length;
      assert.doesNotMatch(await exchange(server.port, tlsOpts), /hello/);
      assert.equal(refused.length, count + 1);
      assert.equal(lastRefusal().cn, "old");
      assert.match(lastRefusal().reason, /^client certificate expired on \d{4}-/);
      await aliceStillServed();
    });

    await t.step("a TLS client without a certificate is refused", async () => {
      const count = refused.length;
      assert.doesNotMatch(
        await exchange(server.port, { ca: [await Deno.readTextFile(pki.paths.ca)] }),
        /hello/,
      );
      assert.equal(refused.length, count + 1);
      assert.match(lastRefusal().reason, /no client certificate presented/);
      await aliceStillServed();
    });

    await t.step("a plain TCP client is refused", async () => {
      const count = refused.length;
      assert.doesNotMatch(await exchange(server.port), /hello/);
      assert.equal(refused.length, count + 1);
      assert.match(lastRefusal().reason, /^TLS handshake failed/);
      await aliceStillServed();
    });
  } finally {
    await Deno.remove(work, { recursive: true });
  }
});

Deno.test("a v1 certificate gives a clear error naming the file and the fix", async (t) => {
  await using pki = await makePki();
  const work = await Deno.makeTempDir({ prefix: "sockkit-v1-" });
  try {
    const v1 = await opensslV1(work, "oldstyle", { cert: pki.paths.ca, key: pki.paths.caKey });
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
      const tls = await loadServerTls({
        cert: pki.paths.serverCert,
        key: pki.paths.serverKey,
        clientCerts: pki.paths.allowList,
      });
      const accepted: string[] = [];
      const refused: string[] = [];
      await using server = await listen(
        {
          host: "127.0.0.1",
          port: 0,
          tls,
          requireClientCert: true,
          onRefused: (_peer, reason) => refused.push(reason),
        },
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
      assert.doesNotMatch(await exchange(server.port, raw), /hello/);
      assert.deepEqual(accepted, []);
      assert.match(refused[0]!, /client certificate not allowed/);

      // The same key and CSR signed as v3 (with -extfile) is accepted.
      const ext = join(work, "v3.ext");
      await Deno.writeTextFile(ext, "basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n");
      const v3cert = join(work, "oldstyle-v3.pem");
      await openssl([
        "x509",
        "-req",
        "-in",
        join(work, "oldstyle.csr"),
        "-CA",
        pki.paths.ca,
        "-CAkey",
        pki.paths.caKey,
        "-CAcreateserial",
        "-out",
        v3cert,
        "-days",
        "30",
        "-extfile",
        ext,
      ], work);
      const v3 = await loadClientTls({ ca: pki.paths.ca, cert: v3cert, key: v1.key });
      assert.equal(await exchange(server.port, v3), "hello\n");
      assert.deepEqual(accepted, ["oldstyle"]);
    });
  } finally {
    await Deno.remove(work, { recursive: true });
  }
});

Deno.test("a self-signed CA:TRUE server certificate serves; a CA-signed CA:TRUE leaf loads with a warning", async (t) => {
  await using pki = await makePki({ clients: ["alice"] });
  const work = await Deno.makeTempDir({ prefix: "sockkit-ca-leaf-" });
  try {
    await t.step("a self-signed openssl req -x509 certificate as the server's own", async () => {
      const s = await opensslSelfSigned(work, "localhost");
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
        await exchange(server.port, { ...clientTls, servername: "localhost" }),
        "hello\n",
      );
    });

    await t.step(
      "a CA-signed server certificate with CA:TRUE fails the client's handshake",
      async () => {
        const key = join(work, "srv.key");
        const csr = join(work, "srv.csr");
        await openssl(
          [
            "req",
            "-new",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            key,
            "-out",
            csr,
            "-subj",
            "/CN=localhost",
          ],
          work,
        );
        const signed = async (ca: boolean) => {
          const ext = join(work, `srv-${ca}.ext`);
          const cert = join(work, `srv-${ca}.pem`);
          await Deno.writeTextFile(
            ext,
            `basicConstraints=critical,CA:${ca ? "TRUE" : "FALSE"}\n` +
              "subjectAltName=DNS:localhost,IP:127.0.0.1\n",
          );
          await openssl([
            "x509",
            "-req",
            "-in",
            csr,
            "-CA",
            pki.paths.ca,
            "-CAkey",
            pki.paths.caKey,
            "-CAcreateserial",
            "-out",
            cert,
            "-days",
            "30",
            "-extfile",
            ext,
          ], work);
          return cert;
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
          return await exchange(server.port, clientTls);
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
  } finally {
    await Deno.remove(work, { recursive: true });
  }
});
