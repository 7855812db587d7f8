/**
 * `sockkit certs allow` with what users actually hand it: an expired or soon
 * expiring certificate, a DER one, a private key, a wrong directory.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { runCli, tempDir } from "./harness/mod.ts";
import { openssl } from "./_openssl.ts";

const EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];

/** A self-signed certificate valid 2024-01-01 to 2024-02-01, made with `openssl ca -selfsign`. */
async function expiredCert(work: string): Promise<string> {
  await openssl(
    ["req", "-new", ...EC, "-keyout", "old.key", "-out", "old.csr", "-subj", "/CN=old"],
    work,
  );
  await Deno.writeTextFile(join(work, "index.txt"), "");
  await Deno.writeTextFile(join(work, "serial"), "01\n");
  await Deno.writeTextFile(
    join(work, "ca.cnf"),
    "[ca]\ndefault_ca = d\n[d]\ndatabase = index.txt\nnew_certs_dir = .\nserial = serial\n" +
      "default_md = sha256\npolicy = p\nx509_extensions = ext\n[p]\ncommonName = supplied\n" +
      "[ext]\nbasicConstraints = CA:FALSE\n",
  );
  await openssl([
    "ca",
    "-batch",
    "-config",
    "ca.cnf",
    "-selfsign",
    "-keyfile",
    "old.key",
    "-in",
    "old.csr",
    "-out",
    "old.pem",
    "-startdate",
    "20240101000000Z",
    "-enddate",
    "20240201000000Z",
    "-notext",
  ], work);
  return join(work, "old.pem");
}

async function selfSigned(work: string, cn: string, days: number): Promise<string> {
  await openssl(
    [
      "req",
      "-x509",
      ...EC,
      "-keyout",
      `${cn}.key`,
      "-out",
      `${cn}.pem`,
      "-days",
      `${days}`,
      "-subj",
      `/CN=${cn}`,
    ],
    work,
  );
  return join(work, `${cn}.pem`);
}

Deno.test("certs allow refuses an expired certificate and warns about one that expires soon", async () => {
  await using tmp = await tempDir("sockkit-certs-allow-");
  const dir = join(tmp.path, "certs");
  assert.equal((await runCli(["certs", "init", "--dir", dir])).code, 0);
  const before = await Deno.readTextFile(join(dir, "allowed.pem"));
  const old = await expiredCert(tmp.path);
  const r = await runCli(["certs", "allow", old, "--dir", dir]);
  assert.equal(r.code, 2, r.stdout);
  assert.equal(
    r.stderr.trim(),
    `sockkit: Certificate "${old}" (CN=old) expired on 2024-02-01T00:00:00.000Z: servers would ` +
      `refuse it, so it is not allowed; make a new one (openssl req -x509 ... -days 365) and allow that`,
  );
  assert.equal(await Deno.readTextFile(join(dir, "allowed.pem")), before);

  const soon = await selfSigned(tmp.path, "soon", 10);
  const w = await runCli(["certs", "allow", soon, "--dir", dir]);
  assert.equal(w.code, 0, w.stderr);
  assert.match(w.stdout, /^Allowed CN=soon /m);
  assert.match(
    w.stderr,
    new RegExp(
      `^sockkit: warning: Certificate "${soon}" \\(CN=soon\\) expires on \\d{4}-\\d\\d-\\d\\dT[^ ]+ ` +
        `\\(in 9 days\\): servers refuse it from then on; .* before that date$`,
      "m",
    ),
  );
  const year = await runCli([
    "certs",
    "allow",
    await selfSigned(tmp.path, "year", 365),
    "--dir",
    dir,
  ]);
  assert.equal(year.code, 0, year.stderr);
  assert.equal(year.stderr, "");
});

Deno.test("certs allow takes a DER certificate and names a private key for what it is", async () => {
  await using tmp = await tempDir("sockkit-certs-allow-");
  const dir = join(tmp.path, "certs");
  assert.equal((await runCli(["certs", "init", "--dir", dir])).code, 0);
  await selfSigned(tmp.path, "bob", 365);
  await openssl(["x509", "-in", "bob.pem", "-outform", "der", "-out", "bob.der"], tmp.path);
  const der = await runCli(["certs", "allow", join(tmp.path, "bob.der"), "--dir", dir]);
  assert.equal(der.code, 0, der.stderr);
  assert.match(der.stdout, /^Allowed CN=bob \(sha256 [0-9a-f]{64}\)/);
  const list = await runCli(["certs", "list", "--dir", dir, "--json"]);
  const bob = (JSON.parse(list.stdout) as Array<Record<string, unknown>>).find((r) =>
    r.name === "bob"
  );
  assert.equal(bob?.kind, "allowed");
  // stored as PEM, the same certificate as bob.pem: allowing that one finds it present
  const pem = await runCli(["certs", "allow", join(tmp.path, "bob.pem"), "--dir", dir]);
  assert.match(pem.stdout, /^Already allowed: CN=bob/);

  const key = join(tmp.path, "bob.key");
  const k = await runCli(["certs", "allow", key, "--dir", dir]);
  assert.equal(k.code, 2);
  assert.equal(
    k.stderr.trim(),
    `sockkit: "${key}" is a private key, not a certificate: give the certificate made with it ` +
      `(the -out file of "openssl req -x509"), and keep the key with the client`,
  );
  const junk = join(tmp.path, "junk.bin");
  await Deno.writeFile(junk, new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x05]));
  const j = await runCli(["certs", "allow", junk, "--dir", dir]);
  assert.equal(j.code, 2);
  assert.match(j.stderr, /^sockkit: No certificate in certificate ".*junk\.bin": expected PEM/);
});

Deno.test("certs allow says when the certificates directory does not exist or is a file", async () => {
  await using tmp = await tempDir("sockkit-certs-allow-");
  const bob = await selfSigned(tmp.path, "bob", 365);
  const missing = join(tmp.path, "nowhere");
  const r = await runCli(["certs", "allow", bob, "--dir", missing]);
  assert.equal(r.code, 1);
  assert.equal(
    r.stderr.trim(),
    `sockkit: Cannot lock the certificates directory "${missing}": it does not exist: create it ` +
      `with "sockkit certs init --dir ${missing}", or check --dir and SOCKKIT_CERTS`,
  );
  const file = join(tmp.path, "afile");
  await Deno.writeTextFile(file, "");
  const f = await runCli(["certs", "allow", bob, "--dir", file]);
  assert.equal(f.code, 1);
  assert.match(
    f.stderr,
    /^sockkit: Cannot lock the certificates directory ".*afile": it is a file, not a directory/,
  );
});
