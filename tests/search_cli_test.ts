import assert from "node:assert/strict";
import { join } from "node:path";
import { freePort, REPO_ROOT, runCli, spawnCli } from "./harness/mod.ts";

Deno.test("search serve writes its start-up line through the logger (JSON with --log-format json)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sockkit-search-log-" });
  try {
    const logFile = join(dir, "search.log");
    await using srv = spawnCli([
      "--log-format",
      "json",
      "--log-file",
      logFile,
      "search",
      "serve",
      "--file",
      join(REPO_ROOT, "fixtures/search/words.txt"),
      "--host",
      "127.0.0.1",
      "--port",
      "0",
    ]);
    let line = "";
    for (let i = 0; i < 200 && !line; i++) {
      await new Promise((r) => setTimeout(r, 50));
      const text = await Deno.readTextFile(logFile).catch(() => "");
      line = text.split("\n").find((l) => l.includes("listening on")) ?? "";
    }
    const entry = JSON.parse(line);
    assert.equal(entry.level, "info");
    assert.match(entry.msg, /^listening on 127\.0\.0\.1:\d+ \(plain TCP, index mode\)/);
    assert.ok(typeof entry.time === "string");
    srv.kill("SIGINT");
    assert.equal((await srv.status).code, 0);
    assert.equal(srv.stdoutText(), "", "nothing on stdout");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("search load against a port where no server listens is an error, exit 1", async () => {
  const port = freePort();
  const r = await runCli([
    "search",
    "load",
    "--host",
    "127.0.0.1",
    "--port",
    String(port),
    "--concurrency",
    "1,8",
    "--duration",
    "1",
  ]);
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.match(
    r.stderr,
    /No query was answered at 1 connection\(s\) to 127\.0\.0\.1:\d+: .*refused/,
  );
  assert.doesNotMatch(r.stdout, /failure point/);
});
