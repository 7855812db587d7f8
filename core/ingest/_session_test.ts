import assert from "node:assert/strict";
import { memoryPair } from "../net/mod.ts";
import { startRedisServer } from "../demo/redis_process.ts";
import { RespStore } from "./_resp_store.ts";
import { BatchWriter } from "./_writer.ts";
import { IngestSession } from "./_session.ts";
import { delay } from "../async/mod.ts";

const dec = new TextDecoder();

Deno.test("ingest session stores objects split across chunks and acknowledges them over an in-memory connection", async () => {
  await using redis = await startRedisServer();
  const store = new RespStore(`redis://127.0.0.1:${redis.port}`);
  const writer = new BatchWriter({ store });
  try {
    const [client, server] = memoryPair();
    const session = new IngestSession(server, { writer, layout: "kv", ack: true });
    let acks = "";
    client.receive({ data: (b) => void (acks += dec.decode(b)), end: () => {} });
    const done = session.run(new AbortController().signal);
    client.send('{"a":"1"}{"b":');
    client.send('2} {"c":{"x":"y"}}\n[1]{"d":');
    client.send("true}");
    for (let i = 0; i < 200 && !acks.includes('{"ok":4}'); i++) {
      await delay(10);
    }
    client.destroy();
    await done;
    assert.equal(session.accepted, 4);
    assert.equal(session.stored, 4);
    assert.match(acks, /not a JSON object: got array/);
    assert.match(acks, /\{"ok":4\}\n/);
  } finally {
    await writer.close();
  }
});

Deno.test("ingest session closes on malformed JSON after storing what came before", async () => {
  await using redis = await startRedisServer();
  const store = new RespStore(`redis://127.0.0.1:${redis.port}`);
  const writer = new BatchWriter({ store });
  try {
    const [client, server] = memoryPair();
    const session = new IngestSession(server, { writer, layout: "kv" });
    client.receive({ data: () => {}, end: () => {} });
    const done = session.run(new AbortController().signal);
    client.send('{"a":"1"}{"b":nope}{"c":"3"}');
    await done;
    assert.equal(session.stored, 1);
    assert.equal(server.isClosed || !server.writable, true);
  } finally {
    await writer.close();
  }
});
