import assert from "node:assert/strict";
import { join } from "node:path";
import { makePki, tempDir } from "../../tests/harness/mod.ts";
import { PKI_LOCK, writePkiFile } from "./_files.ts";
import { removePkiLeftovers } from "./leftovers.ts";
import { listCerts } from "./list.ts";
import { loadCertsDirTls } from "./load_tls.ts";

const names = (dir: string) => [...Deno.readDirSync(dir)].map((e) => e.name).sort();

/** What a crash between creating a temporary file and renaming it left. */
function leftover(dir: string, target: string): string {
  const name = `.${target}.${crypto.randomUUID()}.tmp`;
  Deno.writeTextFileSync(join(dir, name), "-----BEGIN PRIVATE KEY-----\n");
  return name;
}

/** Holds `dir`'s pki lock as another writer would, until disposed (idempotent). */
async function holdLock(dir: string): Promise<Disposable> {
  const file = await Deno.open(join(dir, PKI_LOCK), { write: true, create: true });
  await file.lock(true);
  let open = true;
  return {
    [Symbol.dispose]: () => {
      if (open) file.close();
      open = false;
    },
  };
}

/** Whether `p` is still pending after a while (it would settle at once without the lock). */
async function stillPending(p: Promise<unknown>): Promise<boolean> {
  const later = Symbol("pending");
  const first = await Promise.race([
    p,
    new Promise((resolve) => setTimeout(() => resolve(later), 200)),
  ]);
  return first === later;
}

Deno.test("removePkiLeftovers() removes pki's temporary files in the directory and clients/, nothing else", async () => {
  await using pki = await makePki({ clients: ["alice"] });
  const { dir, paths } = pki;
  const before = names(dir);
  const planted = [
    join(dir, leftover(dir, "ca.key")),
    join(dir, leftover(dir, "allowed.pem")),
    join(dir, leftover(dir, "revoked.json")),
    join(paths.clientsDir, leftover(paths.clientsDir, "alice.key")),
  ];
  const other = leftover(dir, "notes.txt"); // not a pki file: not ours
  Deno.writeTextFileSync(join(dir, "ca.key.tmp"), "kept"); // a user's own file
  assert.deepEqual((await removePkiLeftovers(dir)).sort(), planted.sort());
  assert.deepEqual(names(dir), [...before, "ca.key.tmp", other].sort());
  assert.deepEqual(names(paths.clientsDir), [PKI_LOCK, "alice.key", "alice.pem"]);
  assert.deepEqual(await removePkiLeftovers(dir), []);
});

Deno.test("removePkiLeftovers() of a directory that does not exist removes and creates nothing", async () => {
  await using tmp = await tempDir("sockkit-pki-leftovers-");
  assert.deepEqual(await removePkiLeftovers(join(tmp.path, "certs")), []);
  assert.deepEqual(names(tmp.path), []);
});

Deno.test("removePkiLeftovers() waits while a pki write holds the lock, so the write's file stays", async () => {
  await using pki = await makePki();
  const inFlight = leftover(pki.dir, "revoked.json");
  using writer = await holdLock(pki.dir);
  const swept = removePkiLeftovers(pki.dir);
  assert.ok(await stillPending(swept), "the sweep did not wait for the writer's lock");
  assert.ok(names(pki.dir).includes(inFlight));
  writer[Symbol.dispose]();
  assert.deepEqual(await swept, [join(pki.dir, inFlight)]);
});

Deno.test("writePkiFile() holds its directory's lock: it waits while a sweep holds it", async () => {
  await using pki = await makePki();
  using sweep = await holdLock(pki.dir);
  const written = writePkiFile(pki.paths.revoked, "[]\n[]", 0o644);
  assert.ok(await stillPending(written), "the write did not wait for the lock");
  assert.equal(Deno.readTextFileSync(pki.paths.revoked), "[]\n");
  sweep[Symbol.dispose]();
  await written;
  assert.equal(Deno.readTextFileSync(pki.paths.revoked), "[]\n[]");
});

Deno.test("reading a certificates directory (list, TLS for a server) never sweeps it nor makes a lock file", async () => {
  await using pki = await makePki({ clients: ["alice"] });
  Deno.removeSync(join(pki.dir, PKI_LOCK));
  Deno.removeSync(join(pki.paths.clientsDir, PKI_LOCK));
  const kept = leftover(pki.dir, "ca.key");
  await listCerts(pki.dir);
  await loadCertsDirTls(pki.dir);
  assert.ok(names(pki.dir).includes(kept));
  assert.ok(!names(pki.dir).includes(PKI_LOCK));
});
