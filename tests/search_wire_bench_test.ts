import assert from "node:assert/strict";
import { defaultPoolSize, runWireBench } from "../core/search/mod.ts";
import { tempDir } from "./harness/mod.ts";

Deno.test("runWireBench() loads index mode over TLS, then reread mode at 1 and 32 connections, every query answered", async () => {
  await using dir = await tempDir("sockkit-wire-bench-test-");
  const said: string[] = [];
  const wire = await runWireBench({
    lines: 2000,
    dir: dir.path,
    seconds: 1,
    onProgress: (l) => said.push(l),
  });
  const workers = [...new Set([1, defaultPoolSize()])];
  assert.deepEqual(said, [
    "over the wire, 2000 lines: index mode over TLS, 32 connections, 1 s",
    "over the wire, 2000 lines: reread mode over TCP, 1 connection",
    ...workers.map((w) =>
      `over the wire, 2000 lines: reread mode over TCP, 32 connections, ${w} worker(s)`
    ),
  ]);
  assert.deepEqual(wire.busyReread.map((b) => b.workers), workers);
  const runs = [
    ["TLS", wire.tlsLoad, 32],
    ["reread", wire.wireReread, 1],
    ...wire.busyReread.map((b) => [`reread ${b.workers} worker(s)`, b.load, 32] as const),
  ] as const;
  for (const [what, r, connections] of runs) {
    assert.equal(r.concurrency, connections, what);
    assert.ok(r.answered > 0, `${what}: nothing answered`);
    assert.equal(r.errors + r.timeouts, 0, `${what}: ${r.firstError}`);
    assert.ok(r.p50Ms > 0 && r.p99Ms >= r.p50Ms, `${what}: p50 ${r.p50Ms}, p99 ${r.p99Ms}`);
  }
});
