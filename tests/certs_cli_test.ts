/** `sockkit certs` as a subprocess: files, key modes, --force protection, list output. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { runCli, tempDir } from "./harness/mod.ts";

const mode = async (path: string) => (await Deno.stat(path)).mode! & 0o777;

Deno.test("sockkit certs init/issue/allow/list/revoke manage a certificates directory", async (t) => {
  await using tmp = await tempDir("sockkit-certs-cli-");
  const work = tmp.path;
  const dir = join(work, "certs");
  await t.step(
    "init writes the CA, server certificate and allow-list, keys mode 0600",
    async () => {
      const r = await runCli(["certs", "init", "--dir", dir, "--hosts", "localhost,127.0.0.1"]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(
        r.stdout,
        /Created a CA and a server certificate in ".*certs" \(ECDSA P-256\)/,
      );
      assert.match(
        r.stdout,
        /server certificate for localhost, 127\.0\.0\.1, valid until \d{4}-/,
      );
      for (const f of ["ca.key", "server.key"]) assert.equal(await mode(join(dir, f)), 0o600, f);
      for (const f of ["ca.pem", "server.pem", "allowed.pem", "revoked.json"]) {
        assert.ok((await Deno.stat(join(dir, f))).isFile, f);
      }
    },
  );

  await t.step("a second init refuses to overwrite without --force", async () => {
    const before = await Deno.readTextFile(join(dir, "ca.key"));
    const r = await runCli(["certs", "init", "--dir", dir]);
    assert.equal(r.code, 2);
    assert.equal(
      r.stderr.trim(),
      `sockkit: Refusing to overwrite "${
        join(dir, "ca.key")
      }": it already exists (pass --force to replace it)`,
    );
    assert.equal(await Deno.readTextFile(join(dir, "ca.key")), before);
  });

  let aliceFingerprint = "";
  await t.step(
    "issue writes clients/NAME.pem and a 0600 key, and refuses to overwrite",
    async () => {
      const r = await runCli(["certs", "issue", "alice", "--dir", dir, "--days", "30"]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /Issued client certificate CN=alice, valid until \d{4}-\d\d-\d\d/);
      aliceFingerprint = r.stdout.match(/sha256\s+([0-9a-f]{64})/)![1]!;
      assert.equal(await mode(join(dir, "clients", "alice.key")), 0o600);
      const again = await runCli(["certs", "issue", "alice", "--dir", dir]);
      assert.equal(again.code, 2);
      assert.match(again.stderr, /Refusing to overwrite ".*alice\.key".*--force/);
      const bad = await runCli(["certs", "issue", "../evil", "--dir", dir]);
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /^sockkit: Invalid client name "\.\.\/evil"/);
    },
  );

  await t.step("allow adds an openssl self-signed certificate", async () => {
    const out = await new Deno.Command("openssl", {
      args: [
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        join(work, "bob.key"),
        "-out",
        join(work, "bob.pem"),
        "-days",
        "365",
        "-subj",
        "/CN=bob",
      ],
      stdout: "null",
      stderr: "null",
    }).output();
    assert.ok(out.success);
    const r = await runCli(["certs", "allow", join(work, "bob.pem"), "--dir", dir]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Allowed CN=bob \(sha256 [0-9a-f]{64}\) in ".*allowed\.pem"/);
  });

  await t.step("revoke marks the certificate revoked in list and list --json", async () => {
    const r = await runCli(["certs", "revoke", "alice", "--dir", dir]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), `Revoked CN=alice (sha256 ${aliceFingerprint})`);

    const table = await runCli(["certs", "list", "--dir", dir]);
    assert.equal(table.code, 0, table.stderr);
    const lines = table.stdout.trim().split("\n");
    assert.match(lines[0]!, /^KIND\s+NAME\s+EXPIRES\s+STATUS\s+SHA-256 FINGERPRINT$/);
    const cells = lines.slice(1).map((l) => l.split(/\s{2,}/));
    assert.deepEqual(cells.map((c) => [c[0], c[1], c[3]]), [
      ["ca", "sockkit CA", "valid"],
      ["server", "localhost", "valid"],
      ["client", "alice", "revoked"],
      ["allowed", "bob", "valid"],
    ]);
    assert.equal(cells[2]![4], aliceFingerprint);

    const json = await runCli(["certs", "list", "--dir", dir, "--json"]);
    const rows = JSON.parse(json.stdout) as Array<Record<string, unknown>>;
    const alice = rows.find((row) => row.name === "alice")!;
    assert.equal(alice.revoked, true);
    assert.equal(alice.status, "revoked");
    assert.equal(alice.fingerprint, aliceFingerprint);
    const revoked = JSON.parse(await Deno.readTextFile(join(dir, "revoked.json")));
    assert.deepEqual(revoked.map((e: { name: string }) => e.name), ["alice"]);
  });

  await t.step("init --force replaces the CA and keeps the key mode", async () => {
    const before = await Deno.readTextFile(join(dir, "ca.pem"));
    const r = await runCli(["certs", "init", "--dir", dir, "--force"]);
    assert.equal(r.code, 0, r.stderr);
    assert.notEqual(await Deno.readTextFile(join(dir, "ca.pem")), before);
    assert.equal(await mode(join(dir, "ca.key")), 0o600);
  });
});

Deno.test("sockkit certs uses SOCKKIT_CERTS and explains a missing directory", async () => {
  await using tmp = await tempDir("sockkit-certs-cli-");
  const work = tmp.path;
  const missing = await runCli(["certs", "list"], { cwd: work });
  assert.equal(missing.code, 2);
  assert.equal(
    missing.stderr.trim(),
    `sockkit: Cannot read CA certificate "certs/ca.pem": file not found (run "sockkit certs init")`,
  );
  const env = { SOCKKIT_CERTS: join(work, "fromenv") };
  const init = await runCli(["certs", "init", "--rsa"], { cwd: work, env });
  assert.equal(init.code, 0, init.stderr);
  assert.match(init.stdout, /\(RSA 2048\)/);
  assert.equal(await mode(join(work, "fromenv", "server.key")), 0o600);
});

Deno.test("sockkit certs issue removes and names the temporary files a crashed write left; certs list leaves them", async () => {
  await using tmp = await tempDir("sockkit-certs-cli-");
  const dir = join(tmp.path, "certs");
  assert.equal((await runCli(["certs", "init", "--dir", dir])).code, 0);
  // what a crash of init between writing the CA key's temporary file and renaming it leaves
  const caKey = join(dir, `.ca.key.${crypto.randomUUID()}.tmp`);
  const clientKey = join(dir, "clients", `.bob.key.${crypto.randomUUID()}.tmp`);
  for (const f of [caKey, clientKey]) await Deno.writeTextFile(f, "-----BEGIN PRIVATE KEY-----\n");
  const list = await runCli(["certs", "list", "--dir", dir]);
  assert.equal(list.code, 0, list.stderr);
  assert.ok(await Deno.stat(caKey), "a command that only reads sweeps nothing");
  const r = await runCli(["certs", "issue", "alice", "--dir", dir]);
  assert.equal(r.code, 0, r.stderr);
  for (const f of [caKey, clientKey]) {
    assert.match(
      r.stdout,
      new RegExp(`^Removed "${f}": a temporary file left by a write that a crash cut short$`, "m"),
    );
    await assert.rejects(Deno.stat(f), Deno.errors.NotFound);
  }
  assert.match(r.stdout, /Issued client certificate CN=alice/);
});
