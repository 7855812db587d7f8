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

Deno.test("chat session keeps a client whose every write completes a line and starts the next", async () => {
  // A client streaming lines whose writes end mid-line: each started line
  // completes within the timeout, so the line timeout must not fire.
  const s = served({ lineTimeoutMs: 200 });
  for (let i = 0; i < 10; i++) {
    s.client.send(`${i}\npart${i}`);
    await tick(50);
  }
  s.client.send("\n");
  await tick();
  assert.doesNotMatch(s.text(), /Line timeout/); // before: closed after 200 ms
  assert.equal(s.client.isClosed, false);
  assert.equal(s.text().split("\n").length, 12); // 11 replies and the empty tail
  s.client.destroy();
  await s.done;
  await s.server.close();
});

Deno.test("chat session sends the going-away line when the server drains", async () => {
  const s = served();
  s.ac.abort();
  await s.done;
  assert.match(s.text(), /Server is shutting down \(going away\)/);
  await s.server.close();
});
