/**
 * The seed clients of the replaced daemon send `json.dumps(d).encode()` over
 * mutual TLS and close the socket without ever reading from it. Every object
 * they wrote must still be stored.
 */
import assert from "node:assert/strict";
import { hasPythonSsl, ingestFixture } from "./ingest_fixture.ts";
import { waitUntil } from "./harness/mod.ts";

const OBJECTS = 5000;
const SEED_CLIENT = new URL("../fixtures/ingest/seed_client.py", import.meta.url).pathname;

Deno.test({
  name: "ingest stores everything from a Python seed client that writes, never reads and closes",
  ignore: !hasPythonSsl,
  fn: async () => {
    await using f = await ingestFixture({ clients: ["seed"], ack: false });
    const out = await f.python(SEED_CLIENT, "seed", [String(OBJECTS)]);
    assert.equal(out.code, 0, out.stderr);

    await using redis = await f.redis.client();
    await waitUntil(async () => (await redis.dbSize()) === OBJECTS, { timeoutMs: 15_000 })
      .catch(() => {});
    assert.equal(await redis.dbSize(), OBJECTS);
    assert.deepEqual({ ...(await redis.hGetAll(`seed:${OBJECTS - 1}`)) }, {
      n: String(OBJECTS - 1),
      tags: '["a", "b"]', // the JSON text as json.dumps sent it
    });
  },
});
