import assert from "node:assert/strict";
import { memoryPair } from "./memory_pair.ts";
import { delay } from "../async/mod.ts";

const dec = new TextDecoder();

function collect(
  conn: ReturnType<typeof memoryPair>[0],
): { text: () => string; ended: Promise<void> } {
  let text = "";
  const ended = Promise.withResolvers<void>();
  conn.receive({ data: (b) => void (text += dec.decode(b)), end: () => ended.resolve() });
  return { text: () => text, ended: ended.promise };
}

Deno.test("Connection delivers bytes both ways and end() delivers everything written before EOF", async () => {
  const [client, server] = memoryPair();
  server.receive({ data: (b) => void server.send(b) });
  const got = collect(client);
  client.send("hello ");
  client.send("world");
  await delay(10);
  assert.equal(got.text(), "hello world");
  await Promise.all([server.end("bye"), client.end()]);
  assert.equal(got.text(), "hello worldbye");
  assert.equal(server.delivered, true);
});

Deno.test("Connection.pause() stops delivery until resume()", async () => {
  const [client, server] = memoryPair();
  const got = collect(server);
  server.pause();
  client.send("a");
  await delay(20);
  assert.equal(got.text(), "");
  server.resume();
  await delay(20);
  assert.equal(got.text(), "a");
  client.destroy();
});

Deno.test("Connection idle timeout closes a connection without progress and says why", async () => {
  const [client, server] = memoryPair({ serverPolicy: { idleTimeoutMs: 100 } });
  collect(server);
  client.receive({ data: () => {} });
  // Progress keeps it open.
  for (let i = 0; i < 6; i++) {
    client.send("x");
    await delay(40);
  }
  assert.equal(server.isClosed, false);
  await server.closed;
  assert.match(server.closeReason!, /no progress for 100 ms \(idle timeout\)/);
  assert.equal(client.isClosed, true);
});

Deno.test("Connection idle timeout spares a connection paused by us", async () => {
  const [client, server] = memoryPair({ serverPolicy: { idleTimeoutMs: 80 } });
  collect(server);
  server.pause();
  await delay(400);
  assert.equal(server.isClosed, false);
  server.resume();
  await server.closed;
  client.destroy();
});
