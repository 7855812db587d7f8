import assert from "node:assert/strict";
import { startRedis } from "./redis.ts";
import { waitForPort } from "./net.ts";

Deno.test("startRedis serves a real redis-server that clients can use", async () => {
  await using redis = await startRedis();
  assert.equal(redis.url, `redis://127.0.0.1:${redis.port}`);
  await using client = await redis.client();
  await client.set("greeting", "hello");
  assert.equal(await client.get("greeting"), "hello");
  assert.equal(await client.configGet("appendonly").then((c) => c.appendonly), "no");
});

Deno.test("startRedis stop() frees the port and restart() serves it again, empty", async () => {
  await using redis = await startRedis();
  {
    await using client = await redis.client();
    await client.set("k", "v");
  }
  await redis.stop();
  await assert.rejects(
    Deno.connect({ hostname: "127.0.0.1", port: redis.port }),
    Deno.errors.ConnectionRefused,
  );
  await redis.stop(); // idempotent
  await redis.restart();
  await waitForPort(redis.port);
  await using client = await redis.client();
  assert.equal(await client.get("k"), null);
});

Deno.test("startRedis passes extra arguments to redis-server", async () => {
  await using redis = await startRedis({ args: ["--maxmemory", "12345678"] });
  await using client = await redis.client();
  assert.equal((await client.configGet("maxmemory")).maxmemory, "12345678");
});

Deno.test("disposing the harness redis closes clients that are still open", async () => {
  const redis = await startRedis();
  const client = await redis.client();
  await client.ping();
  await redis[Symbol.asyncDispose]();
  assert.equal(client.isOpen, false);
});

Deno.test("a harness client outlives a redis stop and is disposed cleanly", async () => {
  await using redis = await startRedis();
  await using client = await redis.client();
  await client.set("k", "v");
  await redis.stop();
  await redis.restart();
  // node-redis reconnects on its own once the server is back.
  assert.equal(await client.get("k"), null);
});

Deno.test("a harness client of a stopped redis is disposed without hanging", async () => {
  await using redis = await startRedis();
  await using client = await redis.client();
  await client.ping();
  await redis.stop();
});
