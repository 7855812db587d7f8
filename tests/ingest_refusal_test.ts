import assert from "node:assert/strict";
import { ingestFixture } from "./ingest_fixture.ts";
import { waitUntil } from "./harness/mod.ts";
import { createLogger } from "../core/log/mod.ts";

/** 100 objects, every other one with two keys (its own MULTI/EXEC in the kv layout). */
function objects(tag: string): Record<string, unknown>[] {
  return Array.from(
    { length: 100 },
    (_, i) => i % 2 === 0 ? { [`${tag}:${i}`]: i } : { [`${tag}:${i}`]: i, [`${tag}:b${i}`]: "b" },
  );
}

for (const layout of ["kv", "stream"] as const) {
  Deno.test(`ingest (${layout}) spools what a primary demoted to a read-only replica refuses and writes it once promoted again`, async () => {
    const logs: string[] = [];
    await using f = await ingestFixture({
      layout,
      logger: createLogger({ level: "debug", sink: (l) => logs.push(l) }),
    });
    await using c = await f.redis.client();
    // A failover that keeps the connection open: Redis now answers writes with READONLY.
    await c.sendCommand(["REPLICAOF", "127.0.0.1", "1"]);
    const r = await f.send(objects("ro"));
    assert.deepEqual(r.errors, []);
    assert.equal(r.acknowledged, 100);
    assert.equal(r.spooled, 100, "acknowledged as spooled");
    assert.equal(f.server.metrics.objectsFailed, 0);
    assert.equal(f.server.writer.live, false);
    // A replay attempt while still read-only keeps the spool instead of dropping it.
    await waitUntil(() => logs.some((l) => /Redis still unavailable.*READONLY/.test(l)), {
      what: "a replay attempt to be refused",
    });
    await c.sendCommand(["REPLICAOF", "NO", "ONE"]);
    await waitUntil(() => f.server.writer.live && f.server.writer.queued === 0, {
      what: "the spool to be replayed",
    });
    if (layout === "kv") {
      assert.equal(await c.dbSize(), 150);
      assert.equal(await c.get("ro:99"), "99");
      assert.equal(await c.get("ro:b99"), "b");
    } else {
      const entries = await c.xRange("ingest", "-", "+");
      assert.deepEqual(entries.map((e) => JSON.parse(e.message.data!)), objects("ro"));
    }
    const down = logs.filter((l) => /WARN.*Redis unavailable: spooling/.test(l));
    assert.equal(down.length, 1, down.join("\n"));
    assert.match(down[0]!, /READONLY/);
    assert.match(down[0]!, /REPLICAOF NO ONE/);
    assert.equal(logs.filter((l) => /Redis refused/.test(l)).length, 0, logs.join("\n"));
  });
}

Deno.test("ingest spools what Redis refuses at maxmemory (OOM) and writes it once there is memory", async () => {
  await using f = await ingestFixture();
  await using c = await f.redis.client();
  await c.configSet("maxmemory", "1");
  const r = await f.send(objects("oom"));
  assert.deepEqual(r.errors, []);
  assert.equal(r.acknowledged, 100);
  assert.equal(r.spooled, 100);
  assert.equal(f.server.metrics.objectsFailed, 0);
  await c.configSet("maxmemory", "0");
  await waitUntil(async () => (await c.dbSize()) === 150, { what: "150 keys" });
  await waitUntil(() => f.server.writer.live, { what: "live writing" });
  assert.equal(f.server.metrics.objectsFailed, 0);
});

Deno.test("ingest still refuses an object whose key holds another type (WRONGTYPE) and spools nothing", async () => {
  await using f = await ingestFixture();
  await using c = await f.redis.client();
  await c.set("h", "a string");
  const r = await f.send([{ before: "a" }, { h: { g: "y" }, other: "z" }, { after: "b" }]);
  assert.equal(r.acknowledged, 2);
  assert.equal(r.refused, 1);
  assert.equal(r.spooled ?? 0, 0);
  assert.match(r.errors.join("\n"), /Redis refused the write: WRONGTYPE/);
  assert.equal(f.server.writer.live, true);
  assert.equal(f.server.metrics.objectsSpooled, 0);
  assert.deepEqual(await c.mGet(["before", "after"]), ["a", "b"]);
});
