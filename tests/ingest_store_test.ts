import assert from "node:assert/strict";
import { sendObjects } from "../core/ingest/mod.ts";
import { collectLines, ingestFixture } from "./ingest_fixture.ts";
import { waitUntil } from "./harness/mod.ts";

Deno.test("ingest stores a flat object as GET-able keys", async () => {
  await using f = await ingestFixture();
  const r = await f.send([{ name: "ada", n: 1, ok: true, none: null, list: [1, 2] }], {
    ack: true,
  });
  assert.equal(r.acknowledged, 1);
  await using c = await f.redis.client();
  assert.equal(await c.get("name"), "ada");
  assert.equal(await c.get("n"), "1");
  assert.equal(await c.get("ok"), "true");
  assert.equal(await c.get("none"), "null");
  assert.equal(await c.get("list"), "[1,2]");
});

Deno.test("ingest stores a nested object as a hash and merges a second object into it", async () => {
  await using f = await ingestFixture();
  await f.send([{ user: { name: "ada", age: 36, tags: ["x"] } }], { ack: true });
  await f.send([{ user: { city: "London", age: 37 } }], { ack: true, client: "bob" });
  await using c = await f.redis.client();
  assert.deepEqual({ ...(await c.hGetAll("user")) }, {
    name: "ada",
    age: "37",
    tags: '["x"]',
    city: "London",
  });
});

Deno.test("ingest without --ack stays silent and still stores everything", async () => {
  await using f = await ingestFixture({ ack: false });
  const objs = Array.from({ length: 500 }, (_, i) => ({ [`k${i}`]: i }));
  const r = await f.send(objs);
  assert.equal(r.sent, 500);
  await using c = await f.redis.client();
  await waitUntil(async () => (await c.dbSize()) === 500, { what: "500 keys" });
});

Deno.test("ingest: 100 concurrent clients each sending one object leave exactly 100 keys", async () => {
  await using f = await ingestFixture();
  const tls = await f.clientTls("alice");
  const results = await Promise.all(
    Array.from({ length: 100 }, (_, i) =>
      sendObjects([{ [`CLIENT_${i}`]: 1 }], {
        host: "127.0.0.1",
        port: f.server.port,
        tls,
        ack: true,
      })),
  );
  assert.deepEqual(results.map((r) => r.acknowledged), Array(100).fill(1));
  await using c = await f.redis.client();
  assert.equal(await c.dbSize(), 100);
  assert.equal(await c.get("CLIENT_42"), "1");
});

Deno.test("ingest stores objects written back to back in one write and one object split into single bytes", async () => {
  await using f = await ingestFixture();
  await using conn = await f.connect();
  const acks = collectLines(conn);
  await conn.write('{"a":1}{"b":{"x":"y"}}\n{"c":[1]}  {"d":"e"}');
  const split = new TextEncoder().encode('{"split":{"deep":{"k":"v"},"s":"t"}}');
  for (const byte of split) await conn.write(new Uint8Array([byte]));
  await waitUntil(() => acks.lastOk() === 5, { what: '{"ok":5}' });
  await using c = await f.redis.client();
  assert.equal(await c.get("a"), "1");
  assert.equal(await c.hGet("b", "x"), "y");
  assert.equal(await c.get("c"), "[1]");
  assert.equal(await c.get("d"), "e");
  assert.deepEqual({ ...(await c.hGetAll("split")) }, { deep: '{"k":"v"}', s: "t" });
});

Deno.test("ingest stores all of 100,000 objects sent on one connection without a pause", async () => {
  await using f = await ingestFixture({ ack: false });
  const objs = Array.from({ length: 100_000 }, (_, i) => ({ [`obj:${i}`]: { n: i } }));
  const r = await f.send(objs);
  assert.equal(r.sent, 100_000);
  await using c = await f.redis.client();
  await waitUntil(() => f.server.metrics.objectsStored === 100_000, {
    timeoutMs: 60_000,
    what: "100,000 stored",
  });
  assert.equal(await c.dbSize(), 100_000);
  assert.equal(await c.hGet("obj:99999", "n"), "99999");
});

Deno.test("ingest stores keys under a non-ASCII --key-prefix as UTF-8, with and without escapes in the object", async () => {
  await using f = await ingestFixture({ keyPrefix: "é:" });
  await using conn = await f.connect();
  const acks = collectLines(conn);
  await conn.write('{"plain":"v","h":{"f":1}}{"esc":"a\\"b","h2":{"g\\n":"x"}}');
  await waitUntil(() => acks.lastOk() === 2, { what: '{"ok":2}' });
  await using c = await f.redis.client();
  assert.deepEqual((await c.keys("*")).sort(), ["é:esc", "é:h", "é:h2", "é:plain"]);
  assert.equal(await c.get("é:plain"), "v");
  assert.equal(await c.get("é:esc"), 'a"b');
  assert.equal(await c.hGet("é:h2", "g\n"), "x");
});
