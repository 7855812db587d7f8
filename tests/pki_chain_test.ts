/**
 * The client-chain walk enforces the limits operator CAs set on what they
 * sign (path length, where a self-issued CA does not count; keyCertSign), finds an issuer by its key among
 * allow-list CAs that share a name, and revocation by serial number counts
 * only within the same issuer: real TLS on loopback, certificates made with
 * openssl, `sockkit certs allow/revoke` as subprocesses.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { loadClientTls } from "../core/pki/mod.ts";
import { helloListener, makePki, readToClose, runCli, tempDir } from "./harness/mod.ts";
import { openssl, opensslSign } from "./_openssl.ts";

const EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
const CA_EXT = "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n";
const LEAF_EXT = "basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n";

interface Made {
  cert: string;
  key: string;
}

Deno.test("the client-chain walk enforces CA limits, tells same-name CAs apart by key, and revokes serials per issuer", async (t) => {
  await using pki = await makePki({ clients: [] });
  await using workDir = await tempDir("sockkit-chain-");
  const work = workDir.path;
  const ext = async (name: string, text: string) => {
    await Deno.writeTextFile(join(work, `${name}.ext`), text);
    return join(work, `${name}.ext`);
  };
  const caExt = await ext("ca", CA_EXT);
  const leafExt = await ext("leaf", LEAF_EXT);
  const pathlen0 = await ext(
    "pathlen0",
    "basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\n",
  );
  const noCertSign = await ext(
    "nocertsign",
    "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,digitalSignature\n",
  );
  /** A self-signed CA with serial 1 (the default of many recipes). */
  const rootCa = async (name: string, cn: string, extras: string[] = []): Promise<Made> => {
    const made = { cert: join(work, `${name}.pem`), key: join(work, `${name}.key`) };
    await openssl([
      "req",
      "-x509",
      ...EC,
      "-keyout",
      made.key,
      "-out",
      made.cert,
      "-days",
      "30",
      "-subj",
      `/CN=${cn}`,
      "-set_serial",
      "1",
      "-addext",
      "basicConstraints=critical,CA:TRUE" + (extras[0] ?? ""),
      "-addext",
      "keyUsage=critical,keyCertSign,cRLSign",
    ], work);
    return made;
  };
  /** A key and a certificate for CN=cn signed by `ca` with serial `serial` and `extfile`. */
  const signed = async (name: string, cn: string, ca: Made, extfile: string, serial: number) => {
    const made = { cert: join(work, `${name}.pem`), key: join(work, `${name}.key`) };
    const csr = join(work, `${name}.csr`);
    await openssl(
      ["req", "-new", ...EC, "-keyout", made.key, "-out", csr, "-subj", `/CN=${cn}`],
      work,
    );
    await opensslSign(csr, ca, made.cert, extfile, serial);
    return made;
  };
  /** `leaf` with the certificates above it appended. */
  const chain = async (name: string, leaf: Made, ...up: Made[]): Promise<Made> => {
    const file = join(work, `${name}-chain.pem`);
    const parts = await Promise.all([leaf, ...up].map((c) => Deno.readTextFile(c.cert)));
    await Deno.writeTextFile(file, parts.join(""));
    return { cert: file, key: leaf.key };
  };

  const opA = await rootCa("opA", "Operator A");
  const opB = await rootCa("opB", "Operator B");
  const opC = await rootCa("opC", "Operator C");
  const opP = await rootCa("opP", "Operator P", [",pathlen:0"]);
  const opA2 = await rootCa("opA2", "Operator A"); // rotated: same name, new key
  const pinB = await rootCa("pinB", "Operator B"); // a pin named like an operator CA
  // pathlen:0 CA -> sub-CA -> mallory (openssl verify: "path length constraint exceeded")
  const subP = await signed("subP", "Sub P", opP, caExt, 2);
  const malP = await chain("malP", await signed("malP", "mallory", subP, leafExt, 3), subP);
  const direct = await signed("direct", "direct", opP, leafExt, 4);
  // pathlen:0 CA -> a self-issued CA of the same name (a key rollover) -> grace: within the limit,
  // since a self-issued CA does not count (RFC 5280 6.1.4 (l); openssl verify accepts it)
  const rolledP = await signed("rolledP", "Operator P", opP, caExt, 10);
  const grace = await chain("grace", await signed("grace", "grace", rolledP, leafExt, 11), rolledP);
  // ... but a CA it signs under another name counts: -> sub-CA -> mallory is refused
  const subRolledP = await signed("subRolledP", "Sub P2", rolledP, caExt, 12);
  const malRolledP = await chain(
    "malRolledP",
    await signed("malRolledP", "mallory", subRolledP, leafExt, 13),
    subRolledP,
    rolledP,
  );
  // a sub-CA whose keyUsage lacks keyCertSign
  const subK = await signed("subK", "Sub K", opA, noCertSign, 5);
  const malK = await chain("malK", await signed("malK", "mallory", subK, leafExt, 6), subK);
  // Operator A -> intermediate (pathlen:0) -> frank
  const inter = await signed("inter", "Intermediate A", opA, pathlen0, 7);
  const frank = await chain("frank", await signed("frank", "frank", inter, leafExt, 8), inter);
  // same serial 1 from different issuers
  const carol = await signed("carol", "carol", opA, leafExt, 1);
  const dave = await signed("dave", "dave", opB, leafExt, 1);
  const erin = await signed("erin", "erin", opA2, leafExt, 9);

  for (const ca of [opA, opB, opC, opP, opA2]) {
    const r = await runCli(["certs", "allow", "--ca", ca.cert, "--dir", pki.dir]);
    assert.equal(r.code, 0, r.stderr);
  }
  const pin = await runCli(["certs", "allow", pinB.cert, "--dir", pki.dir]);
  assert.equal(pin.code, 0, pin.stderr);

  await using server = await helloListener(pki);
  const { refused } = server;
  const hello = async (c: Made) =>
    await readToClose(server.port, await loadClientTls({ ca: pki.paths.ca, ...c }));
  const refusedWith = async (c: Made, reason: RegExp) => {
    const count = refused.length;
    assert.doesNotMatch(await hello(c), /hello/);
    assert.equal(refused.length, count + 1);
    assert.match(refused.at(-1)!.reason, reason);
  };

  await t.step("a sub-CA under a pathlen:0 operator CA cannot admit its leaves", async () => {
    await refusedWith(
      malP,
      /CA "CN=Operator P" allows 0 CA certificate\(s\) below it \(pathlen:0\) but the chain has 1: path length constraint exceeded/,
    );
    assert.equal(await hello(direct), "hello direct\n");
  });

  await t.step(
    "a self-issued CA (same name, new key) under a pathlen:0 CA does not count towards it; a CA below that does",
    async () => {
      assert.equal(await hello(grace), "hello grace\n");
      await refusedWith(
        malRolledP,
        /CA "CN=Operator P" allows 0 CA certificate\(s\) below it \(pathlen:0\) but the chain has 1: path length constraint exceeded/,
      );
    },
  );

  await t.step("a sub-CA without keyCertSign in its keyUsage cannot admit its leaves", async () => {
    await refusedWith(
      malK,
      /CA "CN=Sub K" may not sign certificates: its keyUsage lacks keyCertSign/,
    );
  });

  await t.step(
    "operator CA -> intermediate within its path length -> leaf is accepted",
    async () => {
      assert.equal(await hello(frank), "hello frank\n");
    },
  );

  await t.step(
    "a leaf of a rotated CA with the same name is accepted, with and without the CA in its chain, and a pin named like a CA shadows nothing",
    async () => {
      assert.equal(await hello(erin), "hello erin\n");
      assert.equal(await hello(await chain("erin", erin, opA2)), "hello erin\n");
      assert.equal(await hello(carol), "hello carol\n"); // the old Operator A still works
      assert.equal(await hello(dave), "hello dave\n"); // not shadowed by the pin CN=Operator B
      assert.equal(await hello(pinB), "hello Operator B\n");
    },
  );

  await t.step("revoking a CA with serial 1 refuses only the certificates it issued", async () => {
    let r = await runCli(["certs", "revoke", "Operator C", "--dir", pki.dir]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await hello(carol), "hello carol\n");
    assert.equal(await hello(dave), "hello dave\n");
    r = await runCli(["certs", "revoke", "Operator B", "--dir", pki.dir]);
    assert.equal(r.code, 0, r.stderr);
    await refusedWith(
      dave,
      /^certificate CN=dave was issued by CN=Operator B, which was revoked at /,
    );
    assert.equal(await hello(carol), "hello carol\n");
    assert.equal(await hello(frank), "hello frank\n");
  });
});
