import assert from "node:assert/strict";
import { defaultPoolSize, runWireBench, writeBenchFileIn } from "../core/search/mod.ts";
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

Deno.test("runWireBench() serves the file search bench already wrote, without writing it again", async () => {
  await using dir = await tempDir("sockkit-wire-bench-test-");
  const file = await writeBenchFileIn(dir.path, 2000, 50);
  const before = await Deno.stat(file.path);
  const wire = await runWireBench({ file, dir: dir.path, seconds: 1 });
  assert.ok(wire.wireReread.answered > 0, `nothing answered: ${wire.wireReread.firstError}`);
  assert.equal(wire.wireReread.errors, 0, wire.wireReread.firstError);
  const after = await Deno.stat(file.path);
  assert.equal(after.mtime?.getTime(), before.mtime?.getTime(), "the file was written again");
});
