import assert from "node:assert/strict";
import { ingestFixture } from "./ingest_fixture.ts";
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
