import assert from "node:assert/strict";
import { join } from "node:path";
import { REPO_ROOT, runCli } from "./harness/mod.ts";

Deno.test("a port in use is reported once, as the sockkit: line, exit 1", async () => {
  using held = Deno.listen({ hostname: "0.0.0.0", port: 0 });
  const port = (held.addr as Deno.NetAddr).port;
  const dir = await Deno.makeTempDir({ prefix: "sockkit-errors-" });
  try {
    assert.equal((await runCli(["certs", "init", "--dir", dir])).code, 0);
    const r2 = await runCli(["servercli", "--port", String(port), "--certs", dir]);
    assert.equal(r2.code, 1, r2.stderr);
    const lines = r2.stderr.trim().split("\n").filter((l) => /in use/.test(l));
    assert.equal(lines.length, 1, r2.stderr);
    assert.match(lines[0]!, /^sockkit: Cannot listen on 0\.0\.0\.0:\d+: address already in use/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a handler module that fails to load is reported once, exit 1", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sockkit-errors-" });
  try {
    const handler = join(dir, "bad_handler.ts");
    await Deno.writeTextFile(handler, "export default () => {; syntax error here(\n");
    const r = await runCli([
      "query",
      "serve",
      "--data",
      join(REPO_ROOT, "fixtures/query/spec.json"),
      "--handler",
      handler,
      "--port",
      "0",
    ]);
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.stderr.split("Cannot load handler module").length - 1, 1, r.stderr);
    assert.doesNotMatch(r.stderr, /ERROR/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
