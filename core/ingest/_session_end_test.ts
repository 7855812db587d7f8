import assert from "node:assert/strict";
import { memoryPair } from "../net/mod.ts";
import { startRedisServer } from "../demo/redis_process.ts";
import { RespStore } from "./_resp_store.ts";
import { BatchWriter } from "./_writer.ts";
import { IngestSession, type SessionOptions } from "./_session.ts";

const dec = new TextDecoder();

/** A session over an in-memory connection, storing into a real Redis; collects the ack lines. */
async function ingest(options: Partial<SessionOptions> = {}) {
  const redis = await startRedisServer();
  const writer = new BatchWriter({ store: new RespStore(`redis://127.0.0.1:${redis.port}`) });
  const [client, server] = memoryPair();
  const session = new IngestSession(server, { writer, layout: "kv", ack: true, ...options });
  let acks = "";
  client.receive({ data: (b) => void (acks += dec.decode(b)), end: () => {} });
  const ac = new AbortController();
  const done = session.run(ac.signal);
  return {
    client,
    server,
    session,
    ac,
    done,
    acks: () => acks,
    async [Symbol.asyncDispose]() {
      client.destroy();
      await done;
      await writer.close();
      await redis[Symbol.asyncDispose]();
    },
  };
}

Deno.test("ingest session closes on a value over maxPayload after storing what came before", async () => {
  await using s = await ingest({ maxPayload: 32 });
  s.client.send('{"a":"1"}{"b":"2"}');
  s.client.send(`{"big":"${"x".repeat(64)}"}{"c":"3"}`);
  await s.done;
  assert.equal(s.session.accepted, 2);
  assert.equal(s.session.stored, 2);
  const lines = s.acks().trim().split("\n");
  assert.match(lines.find((l) => l.startsWith('{"error"')) ?? "", /32/);
  assert.equal(lines.at(-1), '{"ok":2}');
  assert.equal(s.server.isClosed, true);
});

Deno.test("ingest session at EOF stores whole objects and drops a partial one", async () => {
  await using s = await ingest();
  s.client.send('{"a":"1"} {"b":"2"} {"c":');
  await s.client.end();
  await s.done;
  assert.equal(s.session.accepted, 2);
  assert.equal(s.session.stored, 2);
  // The final {"ok":N} after the client's EOF is not checked: like the ingest
  // listener, the pair does not keep the server side open after EOF.
});

Deno.test("ingest session on drain stores what it received, sends the final count and closes", async () => {
  await using s = await ingest();
  s.client.send('{"a":"1"}{"b":"2"}{"c":"3"}');
  await new Promise((r) => setTimeout(r, 0));
  s.ac.abort();
  await s.done;
  assert.equal(s.session.accepted, 3);
  assert.equal(s.session.stored, 3);
  assert.equal(s.acks().trim().split("\n").at(-1), '{"ok":3}');
  assert.equal(s.server.isClosed, true);
});

Deno.test("ingest session rejects a value that is not an object and goes on", async () => {
  await using s = await ingest();
  s.client.send('{"a":"1"} "text" 12 null {"b":"2"}');
  await s.client.end();
  await s.done;
  assert.equal(s.session.accepted, 2);
  assert.equal(s.session.stored, 2);
  const errors = s.acks().split("\n").filter((l) => l.startsWith('{"error"'));
  assert.equal(errors.length, 3);
  assert.match(errors[0]!, /not a JSON object: got string/);
  assert.match(errors[1]!, /got number/);
  assert.match(errors[2]!, /got null/);
});

Deno.test("ingest session names invalid UTF-8 as such, after storing what came before", async () => {
  await using s = await ingest();
  s.client.send(
    Uint8Array.from([...new TextEncoder().encode('{"a":"1"}{"b":"caf'), 0xe9, 0x22, 0x7d]),
  );
  await s.done;
  assert.equal(s.session.stored, 1);
  const error = s.acks().split("\n").find((l) => l.startsWith('{"error"')) ?? "";
  assert.match(error, /Malformed JSON: the value is not valid UTF-8/);
});
