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

Deno.test("RespStore treats READONLY as an outage (StoreUnavailableError) and WRONGTYPE as a refused object", async (t) => {
  await using redis = await startRedisServer();
  await using store = new RespStore(redis.url);
  await using admin = new RespStore(redis.url);
  const batch = (atomic: "object" | "batch") => {
    const out = new RespBuffer();
    out.command(["SET", "a", "1"]); // one command
    out.command(["MULTI"]);
    out.command(["SET", "b", "2"]);
    out.command(["HSET", "c", "f", "v"]);
    out.command(["EXEC"]);
    // "batch" transactions are wrapped by the store; "object" ones by the encoder.
    const wire = atomic === "object" ? out.bytes() : stripWrap(out.bytes());
    return { wire, counts: [1, 2], atomic };
  };
  const command = async (...args: string[]) => {
    const out = new RespBuffer();
    out.command(args);
    return await admin.write({ wire: out.bytes(), counts: [1], atomic: "object" });
  };
  await command("REPLICAOF", "127.0.0.1", "1");
  for (const atomic of ["object", "batch"] as const) {
    await t.step(`READONLY (${atomic})`, async () => {
      await assert.rejects(
        store.write(batch(atomic)),
        (err: Error) =>
          err instanceof StoreUnavailableError && /refuses writes: READONLY/.test(err.message) &&
          /REPLICAOF NO ONE/.test(err.message),
      );
    });
  }
  await command("REPLICAOF", "NO", "ONE");
  await command("SET", "c", "a string");
  for (const atomic of ["object", "batch"] as const) {
    await t.step(`WRONGTYPE (${atomic})`, async () => {
      const failures = await store.write(batch(atomic));
      assert.equal(failures.length, 1);
      assert.equal(failures[0]!.object, 1);
      assert.match(failures[0]!.message, /^WRONGTYPE/);
    });
  }
});

const MULTI_WIRE = "*1\r\n$5\r\nMULTI\r\n";
const EXEC_WIRE = "*1\r\n$4\r\nEXEC\r\n";

/** The wire without an object's own MULTI/EXEC (a "batch" transaction holds no nested one). */
function stripWrap(wire: Uint8Array): Uint8Array {
  const text = new TextDecoder().decode(wire).replace(MULTI_WIRE, "").replace(EXEC_WIRE, "");
  return new TextEncoder().encode(text);
}
