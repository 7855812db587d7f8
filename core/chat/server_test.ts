import assert from "node:assert/strict";
import { memoryPair } from "../net/mod.ts";
import { ChatServer } from "./server.ts";
import { delay } from "../async/mod.ts";

const dec = new TextDecoder();
const tls = { cert: "", key: "" };

function served(options: Partial<ConstructorParameters<typeof ChatServer>[0]> = {}) {
  const server = new ChatServer({ port: 0, tls, periodMs: 60_000, ...options });
  const [client, conn] = memoryPair();
  const ac = new AbortController();
  const done = server.serve(conn, ac.signal);
  let text = "";
  client.receive({ data: (b) => void (text += dec.decode(b)), end: () => {} });
  return { server, client, ac, done, text: () => text };
}

const tick = (ms = 20) => delay(ms);

Deno.test("chat session answers lines split across chunks, reversed", async () => {
  const s = served();
  s.client.send("hel");
  s.client.send("lo\nab\r\n");
  await tick();
  assert.equal(s.text(), "olleh\nba\n");
  s.client.destroy();
  await s.done;
  await s.server.close();
});

Deno.test("chat session closes a line over the cap with an error line", async () => {
  const s = served({ maxLineBytes: 8 });
  s.client.send("0123456789");
  await s.done;
  assert.match(s.text(), /^error: Line too long: more than 8 bytes/);
  await s.server.close();
});

Deno.test("chat session closes a partial line after the line timeout; a silent client stays", async () => {
  const s = served({ lineTimeoutMs: 50 });
  const quiet = served({ lineTimeoutMs: 50 });
  s.client.send("abc");
  await s.done;
  assert.match(s.text(), /Line timeout: a line was not completed within 50 ms/);
  await tick(100);
  assert.equal(quiet.client.isClosed, false);
  quiet.client.destroy();
  await quiet.done;
  await s.server.close();
  await quiet.server.close();
});

Deno.test("chat session sends the going-away line when the server drains", async () => {
  const s = served();
  s.ac.abort();
  await s.done;
  assert.match(s.text(), /Server is shutting down \(going away\)/);
  await s.server.close();
});
