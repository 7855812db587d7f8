import assert from "node:assert/strict";
import { sendObjects } from "../core/ingest/mod.ts";
import { ingestFixture } from "./ingest_fixture.ts";
import { smallDisk, smallDiskSkipped, tempDir, waitUntil } from "./harness/mod.ts";

// Redis keeps its data across the restart (AOF, fsync always), so every
// object must be there afterwards, exactly once and in order.
const PERSISTENT = ["--appendonly", "yes", "--appendfsync", "always"];

Deno.test("ingest spools while Redis is down mid-stream of 50,000 objects and replays them in order", async () => {
  await using f = await ingestFixture({
    layout: "stream",
    redisArgs: PERSISTENT,
    maxBatch: 500,
  });
  const total = 50_000;
  async function* objects() {
    for (let i = 0; i < total; i++) {
      if (i === 15_000) {
        await waitUntil(() => f.server.metrics.objectsStored > 0, { what: "first writes" });
        await f.redis.stop();
      }
      if (i === 35_000) {
        await waitUntil(() => f.server.metrics.objectsSpooled > 0, { what: "spooling" });
        await f.redis.restart();
      }
      yield { seq: i };
    }
  }
  const r = await sendObjects(objects(), {
    host: "127.0.0.1",
    port: f.server.port,
    tls: await f.clientTls(),
    ack: true,
    ackTimeoutMs: 60_000,
  });
  assert.equal(r.acknowledged, total);
  await waitUntil(() => f.server.writer.live && f.server.writer.queued === 0, {
    timeoutMs: 30_000,
    what: "the spool to be replayed",
  });
  assert.ok(f.server.metrics.objectsSpooled > 0, "some objects went through the spool");
  await using c = await f.redis.client();
  const entries = await c.xRange("ingest", "-", "+");
  assert.equal(entries.length, total);
  const seqs = entries.map((e) => (JSON.parse(e.message.data!) as { seq: number }).seq);
  for (let i = 0; i < total; i++) {
    if (seqs[i] !== i) assert.fail(`entry ${i} holds seq ${seqs[i]}`);
  }
  assert.equal(entries[0]!.message.client, "alice");
});

Deno.test("ingest pauses clients while the spool is full and loses nothing", async () => {
  await using f = await ingestFixture({ spoolMax: 64 * 1024, maxBatch: 100, highWater: 1000 });
  await f.redis.stop();
  const sending = f.send(Array.from({ length: 5000 }, (_, i) => ({ [`full:${i}`]: i })), {
    ack: true,
  });
  await waitUntil(() => f.server.metrics.objectsSpooled > 0, { what: "spooling" });
  // The spool fills up; the queue stops at the high-water mark instead of growing.
  await waitUntil(() => f.server.writer.overloaded, { what: "reading to pause" });
  const received = f.server.metrics.objectsReceived;
  assert.ok(received < 5000, `reading paused after ${received} objects`);
  await f.redis.restart();
  const r = await sending;
  assert.equal(r.acknowledged, 5000);
  await using c = await f.redis.client();
  await waitUntil(async () => (await c.dbSize()) === 5000, { what: "5000 keys" });
});

Deno.test("ingest pauses clients when the spool's disk is full (ENOSPC), does not crash, and loses nothing", async (t) => {
  await using dir = await tempDir("sockkit-small-disk-");
  await using disk = await smallDisk(dir.path, "disk", 256 * 1024);
  if (!disk) return await smallDiskSkipped(t);
  await using f = await ingestFixture({
    spoolDir: `${disk.path}/spool`,
    maxBatch: 100,
    highWater: 1000,
  });
  await f.redis.stop();
  const total = 5000;
  const sending = f.send(
    Array.from({ length: total }, (_, i) => ({ [`disk:${i}`]: "x".repeat(100) })),
    { ack: true },
  );
  await waitUntil(() => f.server.metrics.objectsSpooled > 0, { what: "spooling" });
  await waitUntil(() => f.server.writer.overloaded, { what: "reading to pause on a full disk" });
  const received = f.server.metrics.objectsReceived;
  assert.ok(received < total, `reading paused after ${received} objects`);
  await f.redis.restart();
  const r = await sending;
  assert.equal(r.acknowledged, total);
  await using c = await f.redis.client();
  await waitUntil(async () => (await c.dbSize()) === total, { what: `${total} keys` });
});
