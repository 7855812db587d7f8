import assert from "node:assert/strict";
import { join } from "node:path";
import { allowCert } from "./allow.ts";
import { initPki } from "./init.ts";
import { issueClient } from "./issue.ts";
import { listCerts } from "./list.ts";
import { readRevoked, revoke } from "./revoke.ts";

Deno.test("allowCert() appends a self-signed certificate once, and listCerts() shows it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const p = await initPki(dir);
    const other = await initPki(join(dir, "other"));
    const first = await allowCert(dir, other.ca);
    assert.equal(first.added.length, 1);
    assert.equal(first.added[0]!.name, "sockkit CA");
    const again = await allowCert(dir, other.ca);
    assert.deepEqual(again.added, []);
    assert.equal(again.present.length, 1);
    assert.equal(
      await Deno.readTextFile(p.allowList),
      (await Deno.readTextFile(p.ca)) + (await Deno.readTextFile(other.ca)),
    );
    await issueClient(dir, "alice");
    const rows = await listCerts(dir);
    assert.deepEqual(rows.map((r) => `${r.kind}:${r.name}`), [
      "ca:sockkit CA",
      "server:localhost",
      "client:alice",
      "allowed:sockkit CA",
    ]);
    assert.equal(rows[3]!.fingerprint, first.added[0]!.fingerprint);
    assert.ok(rows.every((r) => !r.revoked && !r.expired));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("allowCert() refuses a leaf issued by another CA", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await initPki(dir);
    const other = join(dir, "other");
    await initPki(other);
    const bob = await issueClient(other, "bob");
    await assert.rejects(
      allowCert(dir, bob.cert),
      /\(CN=bob\) is not self-signed \(issuer "CN=sockkit CA, O=sockkit"\) and not a CA: a server cannot verify it alone, allow its issuing CA certificate instead/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("revoke() records the fingerprint once and listCerts() marks it revoked", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const p = await initPki(dir);
    await issueClient(dir, "mallory");
    const added = await revoke(dir, "mallory");
    assert.equal(added.length, 1);
    assert.equal(added[0]!.name, "mallory");
    assert.deepEqual(await revoke(dir, "mallory"), []);
    const stored = await readRevoked(p.revoked);
    assert.deepEqual(stored, added);
    const row = (await listCerts(dir)).find((r) => r.name === "mallory")!;
    assert.equal(row.revoked, true);
    assert.equal(row.fingerprint, added[0]!.fingerprint);
    await assert.rejects(revoke(dir, "nobody"), {
      message:
        `No certificate named "nobody" in "${p.clientsDir}" or the allow-list "${p.allowList}" (see "sockkit certs list")`,
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("pki list updates at once all land: two revokes, two issues, two allows (each holds the lock from read to write)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const p = await initPki(dir);
    await Promise.all([issueClient(dir, "alice"), issueClient(dir, "bob")]);
    const issued = JSON.parse(await Deno.readTextFile(join(dir, "issued.json")));
    assert.deepEqual(issued.map((e: { name: string }) => e.name).sort(), ["alice", "bob"]);
    const [a, b] = await Promise.all([revoke(dir, "alice"), revoke(dir, "bob")]);
    assert.equal(a.length + b.length, 2);
    assert.deepEqual((await readRevoked(p.revoked)).map((e) => e.name).sort(), ["alice", "bob"]);
    const others = [await initPki(join(dir, "o1")), await initPki(join(dir, "o2"))];
    await Promise.all(others.map((o) => allowCert(dir, o.ca)));
    const pems = (await Deno.readTextFile(p.allowList)).match(/-----BEGIN CERTIFICATE-----/g);
    assert.equal(pems?.length, 3, "the own CA and both others");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("certs init --force keeps a certificate allowed while it made its keys", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const p = await initPki(dir);
    const other = await initPki(join(dir, "other"));
    // RSA keys take a while to make: the allow lands meanwhile
    const reinit = initPki(dir, { force: true, algorithm: "rsa" });
    await allowCert(dir, other.ca);
    await reinit;
    const list = await Deno.readTextFile(p.allowList);
    assert.ok(
      list.includes((await Deno.readTextFile(other.ca)).trim()),
      "the other CA is still allowed",
    );
    assert.ok(list.startsWith(await Deno.readTextFile(p.ca)), "the new CA first");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
