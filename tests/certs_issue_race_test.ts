/** `sockkit certs issue NAME` run several times at once: one wins, the others are refused. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { runCli, tempDir } from "./harness/mod.ts";

const dec = new TextDecoder();

async function opensslOut(args: string[]): Promise<string> {
  const out = await new Deno.Command("openssl", { args, stdout: "piped", stderr: "piped" })
    .output();
  if (!out.success) throw new Error(`openssl ${args.join(" ")} failed: ${dec.decode(out.stderr)}`);
  return dec.decode(out.stdout);
}

Deno.test("parallel certs issue of one name: exactly one succeeds, its key matches its certificate, one record", async () => {
  await using tmp = await tempDir("sockkit-certs-race-");
  const dir = join(tmp.path, "certs");
  assert.equal((await runCli(["certs", "init", "--dir", dir])).code, 0);
  const runs = await Promise.all(
    Array.from({ length: 8 }, () => runCli(["certs", "issue", "n4", "--dir", dir])),
  );
  const won = runs.filter((r) => r.code === 0);
  assert.equal(won.length, 1, runs.map((r) => `${r.code}: ${r.stderr}`).join("\n"));
  for (const r of runs.filter((r) => r.code !== 0)) {
    assert.equal(r.code, 2, r.stderr);
    assert.match(
      r.stderr,
      /^sockkit: Refusing to overwrite ".*n4\.(key|pem)": it already exists \(pass --force to replace it\)$/m,
    );
  }
  const fingerprint = won[0]!.stdout.match(/sha256\s+([0-9a-f]{64})/)![1]!;
  const cert = join(dir, "clients", "n4.pem");
  const key = join(dir, "clients", "n4.key");
  const onDisk = await opensslOut(["x509", "-in", cert, "-noout", "-fingerprint", "-sha256"]);
  assert.equal(onDisk.trim().split("=")[1]!.replaceAll(":", "").toLowerCase(), fingerprint);
  assert.equal(
    await opensslOut(["x509", "-in", cert, "-noout", "-pubkey"]),
    await opensslOut(["pkey", "-in", key, "-pubout"]),
    "the certificate's public key is the key's",
  );
  const issued = JSON.parse(await Deno.readTextFile(join(dir, "issued.json")));
  assert.deepEqual(
    issued.map((e: { name: string; fingerprint: string }) => [e.name, e.fingerprint]),
    [["n4", fingerprint]],
  );
  const forced = await runCli(["certs", "issue", "n4", "--dir", dir, "--force"]);
  assert.equal(forced.code, 0, forced.stderr);
  assert.equal(JSON.parse(await Deno.readTextFile(join(dir, "issued.json"))).length, 2);
});
