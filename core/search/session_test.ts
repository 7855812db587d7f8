import assert from "node:assert/strict";
import { memoryPair } from "../net/mod.ts";
import type { Matcher } from "./matcher.ts";
import { serveSearchSession } from "./session.ts";
import { delay } from "../async/mod.ts";

const dec = new TextDecoder();
const lines = new Set(["apple", "banana"]);
const matcher: Matcher = {
  mode: "index",
  problem: undefined,
  match: (q) => lines.has(dec.decode(q)),
  close: () => Promise.resolve(),
  [Symbol.asyncDispose]: () => Promise.resolve(),
};

function session(idleMs = 30) {
  const [client, server] = memoryPair({ serverPolicy: { allowHalfOpen: true } });
  const ac = new AbortController();
  const done = serveSearchSession(server, ac.signal, { matcher, idleMs });
  let text = "";
  client.receive({ data: (b) => void (text += dec.decode(b)), end: () => {} });
  return { client, done, ac, text: () => text };
}

Deno.test("search session answers queries split across chunks, in order", async () => {
  const s = session();
  s.client.send("app");
  s.client.send("le\npear\r\nban");
  s.client.send("ana\n");
  await delay(20);
  assert.equal(s.text(), "STRING EXISTS\nSTRING NOT FOUND\nSTRING EXISTS\n");
  s.client.destroy();
  await s.done;
});

Deno.test("search session answers a one-shot query after a half-close, then ends", async () => {
  const s = session(10_000);
  s.client.send("banana");
  await s.client.end();
  await s.done;
  assert.equal(s.text(), "STRING EXISTS\n");
});

Deno.test("search session answers a query without newline after the idle pause", async () => {
  const s = session(30);
  s.client.send("apple");
  await delay(120);
  assert.equal(s.text(), "STRING EXISTS\n");
  s.client.destroy();
  await s.done;
});

Deno.test("search session answers a too-long query with an error line and closes", async () => {
  const s = session();
  s.client.send("x".repeat(2000));
  await s.done;
  assert.match(s.text(), /query too long/);
});
