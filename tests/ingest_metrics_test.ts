/** The ingest gauges read what is true now, against a real redis-server. */
import assert from "node:assert/strict";
import { DaemonMetrics } from "../core/metrics/mod.ts";
import { collectLines, ingestFixture } from "./ingest_fixture.ts";
import { waitUntil } from "./harness/mod.ts";
import { delay } from "../core/async/mod.ts";

const QUEUED = /sockkit_ingest_queued_objects\{service="ingest"\} (\d+)\n/;

Deno.test("queued_objects counts the objects waiting while Redis is busy", async () => {
  const daemon = new DaemonMetrics("ingest");
  await using f = await ingestFixture({
    redisArgs: ["--enable-debug-command", "yes"],
    daemonMetrics: daemon,
    highWater: 1_000_000,
  });
  const queued = async () => Number(QUEUED.exec(await daemon.render())![1]);
  // Redis stops answering for a while; objects keep arriving.
  await using sleeper = await f.redis.client();
  const sleeping = sleeper.sendCommand(["DEBUG", "SLEEP", "2"]);
  await delay(100);
  const total = 5000;
  let body = "";
  for (let i = 0; i < total; i++) body += `{"k${i}":${i}}`;
  await using conn = await f.connect();
  const acks = collectLines(conn);
  await conn.write(body);
  await waitUntil(() => f.server.metrics.objectsReceived === total, { what: "every object read" });
  const gauge = await queued();
  // Before: 0 until a batch settled.
  assert.ok(gauge > 0 && gauge <= total, `queued_objects read ${gauge} with ${total} waiting`);
  await sleeping;
  await waitUntil(() => acks.lastOk() === total, { what: "every object stored" });
  assert.equal(await queued(), 0);
});
