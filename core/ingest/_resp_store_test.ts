import assert from "node:assert/strict";
import { startRedisServer } from "../demo/redis_process.ts";
import { RespStore } from "./_resp_store.ts";
import { RespBuffer } from "./_resp_buffer.ts";
import { StoreUnavailableError } from "./_store.ts";

Deno.test("RespStore writes a batch larger than a connection's 64 MiB unsent-bytes cap", async () => {
  await using redis = await startRedisServer();
  await using store = new RespStore(redis.url);
  const big = "v".repeat(70 * 1024 * 1024);
  const out = new RespBuffer();
  out.command(["SET", "big", big]);
  const failures = await store.write({ wire: out.bytes(), counts: [1], atomic: "object" });
  assert.deepEqual(failures, []);
  assert.equal(await store.applied("big"), true);
});

Deno.test("RespStore fails requests in flight when Redis goes away and reconnects when it is back", async () => {
  await using redis = await startRedisServer();
  await using store = new RespStore(redis.url);
  await store.connect();
  assert.equal(store.connected, true);
  await redis.stop();
  await assert.rejects(store.applied("k"), StoreUnavailableError);
  assert.equal(store.connected, false);
  await redis.restart();
  const out = new RespBuffer();
  out.command(["SET", "k", "1"]);
  assert.deepEqual(await store.write({ wire: out.bytes(), counts: [1], atomic: "object" }), []);
  assert.equal(await store.applied("k"), true);
});
