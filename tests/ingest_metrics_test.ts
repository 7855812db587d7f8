/** The ingest gauges read what is true now, against a real redis-server. */
import assert from "node:assert/strict";
import { IngestMetrics } from "../core/ingest/metrics.ts";
import { DaemonMetrics } from "../core/metrics/mod.ts";
import { BatchWriter } from "../core/ingest/writer.ts";
import { RespStore } from "../core/ingest/resp_store.ts";
import { encodeKvMembers, splitMembers } from "../core/ingest/layout.ts";
import { startRedis, waitUntil } from "./harness/mod.ts";
import { delay } from "../core/async/mod.ts";

Deno.test("queued_objects counts the objects waiting while Redis is busy", async () => {
  await using redis = await startRedis({ args: ["--enable-debug-command", "yes"] });
  const metrics = new IngestMetrics();
  const daemon = new DaemonMetrics("ingest");
  metrics.register(daemon);
  const store = new RespStore(redis.url);
  const writer = new BatchWriter({ store, metrics, highWater: 1_000_000 });
  try {
    let stored = 0;
    const owner = { settled: (n: number) => void (stored += n) };
    // Redis stops answering for a while; objects keep arriving.
    const sleeper = await redis.client();
    const sleeping = sleeper.sendCommand(["DEBUG", "SLEEP", "2"]);
    await delay(100);
    const total = 5000;
    for (let i = 0; i < total; i++) {
      const text = `{"k${i}":${i}}`;
      const members = splitMembers(text, new TextEncoder().encode(text))!;
      writer.add(owner, (out, wrap) => encodeKvMembers(members, out, { ascii: true, wrap }));
    }
    await delay(200);
    const gauge = Number(
      /sockkit_ingest_queued_objects\{service="ingest"\} (\d+)/.exec(await daemon.render())![1],
    );
    // Before: 0 until a batch settled.
    assert.ok(gauge > 0 && gauge <= total, `queued_objects read ${gauge} with ${total} waiting`);
    assert.equal(gauge, writer.queued);
    await sleeping;
    await sleeper.close();
    await waitUntil(() => stored === total, { what: "every object stored" });
    assert.match(await daemon.render(), /sockkit_ingest_queued_objects\{service="ingest"\} 0\n/);
  } finally {
    await writer.close();
    await store.close?.();
  }
});
