import assert from "node:assert/strict";
import { runCli, spawnCli } from "./cli.ts";
import { freePort, waitForPort, waitUntil } from "./net.ts";

Deno.test("runCli returns the exit code and output of sockkit", async () => {
  const help = await runCli(["--help"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /Usage: sockkit/);
  const bogus = await runCli(["--bogus"]);
  assert.equal(bogus.code, 2);
  assert.match(bogus.stderr, /unknown option '--bogus'/);
});

Deno.test("spawnCli exposes lines as they arrive and the exit status", async () => {
  await using p = spawnCli(["--version"]);
  const m = await p.waitForLine(/^(\d+\.\d+\.\d+)$/);
  assert.match(m[1]!, /^\d+\.\d+\.\d+$/);
  assert.equal((await p.status).code, 0);
  assert.deepEqual(p.stdoutLines, [m[0]]);
});

Deno.test("spawnCli.waitForLine rejects, quoting stderr, when the process exits first", async () => {
  await using p = spawnCli(["--bogus"]);
  await assert.rejects(p.waitForLine(/never printed/), /exited before printing.*unknown option/s);
});

Deno.test("waitForPort resolves once a listener appears and waitUntil times out with a message", async () => {
  const port = freePort();
  const later = new Promise<Deno.Listener>((resolve) =>
    setTimeout(() => resolve(Deno.listen({ hostname: "127.0.0.1", port })), 100)
  );
  await waitForPort(port, { timeoutMs: 5000 });
  (await later).close();
  await assert.rejects(
    waitUntil(() => false, { timeoutMs: 50, what: "nothing" }),
    { message: "Timed out after 50 ms waiting for nothing" },
  );
});
