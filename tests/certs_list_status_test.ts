/** `sockkit certs list`: operator CAs, and clients of a CA that `init --force` replaced. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { runCli, tempDir } from "./harness/mod.ts";
import { openssl } from "./_openssl.ts";

/** The table's rows as [kind, name, status]. */
async function listed(dir: string): Promise<string[][]> {
  const r = await runCli(["certs", "list", "--dir", dir]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.trim().split("\n").slice(1).map((l) => {
    const c = l.split(/\s{2,}/);
    return [c[0]!, c[1]!, c[3]!];
  });
}

/** An operator CA made with openssl (self-signed, basicConstraints CA:TRUE). */
async function operatorCa(work: string, cn: string): Promise<string> {
  await openssl([
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-nodes",
    "-keyout",
    `${cn}.key`,
    "-out",
    `${cn}.pem`,
    "-days",
    "365",
    "-subj",
    `/CN=${cn}`,
    "-addext",
    "basicConstraints=critical,CA:TRUE",
  ], work);
  return join(work, `${cn}.pem`);
}

Deno.test("certs list shows operator CAs with their status, in the table and --json", async () => {
  await using tmp = await tempDir("sockkit-certs-list-");
  const dir = join(tmp.path, "certs");
  assert.equal((await runCli(["certs", "init", "--dir", dir])).code, 0);
  for (const cn of ["opA", "opB"]) {
    const r = await runCli([
      "certs",
      "allow",
      "--ca",
      await operatorCa(tmp.path, cn),
      "--dir",
      dir,
    ]);
    assert.equal(r.code, 0, r.stderr);
  }
  assert.equal((await runCli(["certs", "revoke", "opB", "--dir", dir])).code, 0);
  assert.deepEqual((await listed(dir)).filter((r) => r[0] === "operator-ca"), [
    ["operator-ca", "opA", "valid"],
    ["operator-ca", "opB", "revoked"],
  ]);
  const json = await runCli(["certs", "list", "--dir", dir, "--json"]);
  const rows = JSON.parse(json.stdout) as Array<Record<string, unknown>>;
  const opA = rows.find((r) => r.name === "opA")!;
  assert.equal(opA.kind, "operator-ca");
  assert.equal(opA.status, "valid");
  assert.equal(opA.file, join(dir, "client_cas.pem"));
});

Deno.test("after init --force, certs list shows clients of the old CA as not from this CA", async () => {
  await using tmp = await tempDir("sockkit-certs-list-");
  const dir = join(tmp.path, "certs");
  assert.equal((await runCli(["certs", "init", "--dir", dir])).code, 0);
  assert.equal((await runCli(["certs", "issue", "alice", "--dir", dir])).code, 0);
  assert.deepEqual((await listed(dir)).find((r) => r[1] === "alice"), ["client", "alice", "valid"]);
  assert.equal((await runCli(["certs", "init", "--dir", dir, "--force"])).code, 0);
  assert.equal((await runCli(["certs", "issue", "bob", "--dir", dir])).code, 0);
  assert.deepEqual((await listed(dir)).filter((r) => r[0] === "client"), [
    ["client", "alice", "not from this CA"],
    ["client", "bob", "valid"],
  ]);
  // what the servers do agrees: the old client does not verify against the new CA
  const verify = await new Deno.Command("openssl", {
    args: ["verify", "-CAfile", join(dir, "ca.pem"), join(dir, "clients", "alice.pem")],
    stdout: "null",
    stderr: "null",
  }).output();
  assert.equal(verify.success, false);
  const json = await runCli(["certs", "list", "--dir", dir, "--json"]);
  const alice = (JSON.parse(json.stdout) as Array<Record<string, unknown>>)
    .find((r) => r.name === "alice")!;
  assert.equal(alice.otherCa, true);
  assert.equal(alice.status, "not from this CA");
});
