import assert from "node:assert/strict";
import { freePort, runCli, spawnCli, startRedis } from "./harness/mod.ts";
import { delay } from "../core/async/mod.ts";
import { runIngestBench } from "../core/ingest/bench/mod.ts";

async function privateTmp(): Promise<{ path: string; entries(): string[] } & AsyncDisposable> {
  const path = await Deno.makeTempDir({ prefix: "sockkit-bench-tmp-" });
  return {
    path,
    entries: () => [...Deno.readDirSync(path)].map((e) => e.name),
    [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }),
  };
}

Deno.test("ingest bench with an unreachable --redis fails fast and leaves no files", async () => {
  await using tmp = await privateTmp();
  const url = `redis://127.0.0.1:${freePort()}`;
  const started = Date.now();
  const r = await runCli(["ingest", "bench", "--redis", url, "--objects", "1000", "--no-anchor"], {
    env: { TMPDIR: tmp.path },
    timeoutMs: 30_000,
  });
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.match(r.stderr, new RegExp(`Cannot reach Redis at "${url}"`));
  assert.ok(Date.now() - started < 20_000, `took ${Date.now() - started} ms`);
  assert.deepEqual(tmp.entries(), []);
});

Deno.test("ingest bench against the user's --redis deletes the keys it wrote and says so", async () => {
  await using tmp = await privateTmp();
  await using redis = await startRedis();
  await using c = await redis.client();
  await c.set("users-own-key", "kept");
  const r = await runCli(
    ["ingest", "bench", "--redis", redis.url, "--objects", "2000", "--clients", "2", "--no-anchor"],
    { env: { TMPDIR: tmp.path }, timeoutMs: 60_000 },
  );
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /objects lost .* 0 objects/);
  assert.match(r.stdout, /deleted the run's 2,000 keys \(\*bench\w+:c\*\) from redis:/);
  assert.deepEqual(await c.keys("*"), ["users-own-key"]);
  assert.deepEqual(tmp.entries(), []);
});

Deno.test("ingest bench stopped with SIGINT removes its temporary files and its private Redis", async () => {
  await using tmp = await privateTmp();
  await using bench = spawnCli(
    ["ingest", "bench", "--objects", "2000000", "--rate", "2000", "--no-anchor"],
    { env: { TMPDIR: tmp.path } },
  );
  // Wait until the run is under way (its temporary directory exists).
  for (
    let i = 0;
    i < 300 && !tmp.entries().some((e) => e.startsWith("sockkit-ingest-bench-"));
    i++
  ) {
    await delay(100);
  }
  assert.ok(tmp.entries().some((e) => e.startsWith("sockkit-ingest-bench-")), tmp.entries().join());
  await delay(1000);
  bench.kill("SIGINT");
  const status = await bench.status;
  assert.notEqual(status.code, 0);
  assert.match(bench.stderrText(), /Bench interrupted/);
  assert.deepEqual(tmp.entries(), []);
});

Deno.test("ingest bench stopped while it is still setting up says it was interrupted", async () => {
  const stop = new AbortController();
  await assert.rejects(
    runIngestBench({
      objects: 1000,
      noAnchor: true,
      signal: stop.signal,
      // The stop comes while the private Redis starts, before any client runs.
      onPhase: (text) => void (text.startsWith("starting a private redis-server") && stop.abort()),
    }),
    /Bench interrupted: stopped and cleaned up/,
  );
});
