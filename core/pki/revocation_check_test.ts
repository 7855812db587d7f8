import assert from "node:assert/strict";
import { join } from "node:path";
import type { PeerIdentity } from "../net/mod.ts";
import { revocationCheck } from "./revocation_check.ts";

const A = "a".repeat(64);
const B = "b".repeat(64);

function peer(cn: string, fingerprint: string): PeerIdentity {
  return { address: "127.0.0.1", port: 1, tls: true, cn, fingerprint, authorized: true };
}

const list = (fp: string, name: string) =>
  JSON.stringify([{ name, fingerprint: fp, revokedAt: "2026-01-02T03:04:05.000Z" }]);

Deno.test("revocationCheck() refuses revoked fingerprints with a reason naming the CN", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = join(dir, "revoked.json");
    await Deno.writeTextFile(file, list(A, "mallory"));
    const check = revocationCheck(file);
    assert.equal(
      check(peer("mallory", A)),
      "certificate CN=mallory was revoked at 2026-01-02T03:04:05.000Z",
    );
    assert.equal(check(peer("alice", B)), undefined);
    assert.equal(
      check({ address: "127.0.0.1", port: 1, tls: false, authorized: false }),
      undefined,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("revocationCheck() re-reads the file only when it changes", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = join(dir, "revoked.json");
    await Deno.writeTextFile(file, list(A, "mallory"));
    const old = new Date("2026-01-01T00:00:00Z");
    await Deno.utime(file, old, old);
    const check = revocationCheck(file);
    assert.notEqual(check(peer("mallory", A)), undefined);

    // Same inode, size and mtime: the cached list stays in use (no re-read).
    await Deno.writeTextFile(file, list(B, "bobbyyy"));
    await Deno.utime(file, old, old);
    assert.notEqual(check(peer("mallory", A)), undefined);
    assert.equal(check(peer("bobbyyy", B)), undefined);

    // A new mtime: the file is read again.
    const later = new Date("2026-01-01T00:00:01Z");
    await Deno.utime(file, later, later);
    assert.equal(check(peer("mallory", A)), undefined);
    assert.notEqual(check(peer("bobbyyy", B)), undefined);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("revocationCheck() accepts everyone without a file and refuses everyone with a broken one", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = join(dir, "revoked.json");
    const check = revocationCheck(file);
    assert.equal(check(peer("alice", A)), undefined);
    await Deno.writeTextFile(file, "[{");
    assert.match(
      check(peer("alice", A))!,
      new RegExp(`^cannot check revocation list: Invalid revocation list ".*revoked\\.json"`),
    );
    await Deno.writeTextFile(file, "[]");
    assert.equal(check(peer("alice", A)), undefined);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("revocationCheck() matches a serial only with its issuer, and an entry without one by fingerprint only", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = join(dir, "revoked.json");
    const at = "2026-01-02T03:04:05.000Z";
    await Deno.writeTextFile(
      file,
      JSON.stringify([
        { name: "old", fingerprint: "c".repeat(64), serial: "1", revokedAt: at },
        {
          name: "carol",
          fingerprint: "d".repeat(64),
          serial: "2",
          issuer: "CN=Operator A",
          authorityKeyId: "aa",
          revokedAt: at,
        },
      ]),
    );
    const check = revocationCheck(file);
    const client = (serial: string, issuer: string, authorityKeyId?: string): PeerIdentity => ({
      ...peer("carol", A),
      serial,
      issuer,
      ...(authorityKeyId ? { authorityKeyId } : {}),
    });
    assert.equal(check(client("1", "CN=Operator A")), undefined);
    assert.equal(check(client("2", "CN=Operator B", "aa")), undefined);
    assert.equal(check(client("2", "CN=Operator A", "bb")), undefined);
    assert.equal(
      check(client("2", "CN=Operator A", "aa")),
      `certificate CN=carol was revoked at ${at} (by serial 2 of its issuer, as "carol")`,
    );
    assert.equal(
      check({
        ...peer("erin", B),
        issuers: [{ cn: "Sub", fingerprint: A, serial: "1", issuer: "CN=Operator A" }],
      }),
      undefined,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
