import assert from "node:assert/strict";
import { join } from "node:path";
import { createLogger } from "../log/mod.ts";
import { serverCertFallback } from "./server_cert_files.ts";

Deno.test("serverCertFallback() falls back for the default directory only, and logs it once while it stays the same", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const certs = join(dir, "certs");
    const replaced = { cert: join(dir, "my.crt"), key: join(dir, "my.key") };
    await Deno.mkdir(certs);
    await Deno.writeTextFile(replaced.cert, "cert");
    await Deno.writeTextFile(replaced.key, "key");
    const lines: string[] = [];
    const certFiles = serverCertFallback({
      defaultDir: certs,
      replaced,
      logger: createLogger({ sink: (l) => lines.push(l) }),
    });
    const told = () =>
      lines.filter((l) => l.includes("using the replaced tool's server certificate"));
    // start, then two reloads
    for (let i = 0; i < 3; i++) assert.deepEqual(await certFiles(certs), replaced);
    assert.equal(told().length, 1, lines.join("\n"));
    assert.ok(told()[0]!.includes(`"${join(certs, "server.pem")}" not found`));
    const other = join(dir, "other");
    assert.deepEqual(await certFiles(other), {
      cert: join(other, "server.pem"),
      key: join(other, "server.key"),
    }, "a directory the user chose never falls back");
    // the default directory gets its own certificate, then loses it again: that is told again
    await Deno.writeTextFile(join(certs, "server.pem"), "own");
    assert.equal((await certFiles(certs)).cert, join(certs, "server.pem"));
    await Deno.remove(join(certs, "server.pem"));
    assert.deepEqual(await certFiles(certs), replaced);
    assert.equal(told().length, 2);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
