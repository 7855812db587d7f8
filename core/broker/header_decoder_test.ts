import assert from "node:assert/strict";
import { HeaderDecoder } from "./header_decoder.ts";

const enc = new TextEncoder();

/** Decodes each header text in turn with one decoder; each result must be what JSON.parse gives. */
function same(texts: string[]): void {
  const d = new HeaderDecoder();
  for (const t of texts) assert.deepEqual(d.decode(enc.encode(t)), JSON.parse(t), t);
}

const msg = (id: string, rest = '"enc":"text"') =>
  `{"kind":"msg","type":"t","src":"alice","dst":"srv","id":"${id}",${rest}}`;

Deno.test("HeaderDecoder gives what JSON.parse gives for headers that differ in the id", () => {
  same([msg("a0"), msg("a1"), msg("a2b"), msg(""), msg("x".repeat(40)), msg("a3")]);
});

Deno.test("HeaderDecoder parses again whatever else changes", async (t) => {
  const cases: Record<string, string[]> = {
    "another field": [msg("a0"), msg("a1", '"enc":"json"'), msg("a2", '"enc":"json","ack":true')],
    "another sender": [msg("a0"), msg("a1").replace("alice", "mallory")],
    "an escaped id": [msg("a0"), msg('a\\"1'), msg("a\\u00e92"), msg("a3")],
    "a non-ASCII id": [msg("a0"), msg("é1"), msg("a2")],
    "a duplicate id key": [
      msg("a0", '"id":"z"'),
      msg("a1", '"id":"z"'),
      `{"kind":"msg","id":"a","id":"b"}`,
      `{"kind":"msg","id":"c","id":"b"}`,
    ],
    "an escaped id key": [
      `{"kind":"msg","id":"a","\\u0069d":"a"}`,
      `{"kind":"msg","id":"X","\\u0069d":"a"}`,
    ],
    "spaces around the id": [`{"kind":"msg", "id" : "a"}`, `{"kind":"msg", "id" : "b"}`],
    'a field whose value is "id"': [
      `{"kind":"msg","type":"id","id":"a"}`,
      `{"kind":"msg","type":"id","id":"b"}`,
    ],
    "a nested object": [
      msg("a0", '"file":{"transfer":"t","name":"n","offset":0,"size":1}'),
      msg("a1", '"file":{"transfer":"t","name":"n","offset":1,"size":1}'),
    ],
    "other kinds between messages": [msg("a0"), `{"kind":"acks","n":1}`, msg("a1")],
  };
  for (const [name, texts] of Object.entries(cases)) await t.step(name, () => same(texts));
});

Deno.test("HeaderDecoder hands out headers that can be changed without touching the next", () => {
  const d = new HeaderDecoder();
  d.decode(enc.encode(msg("a0")));
  const h1 = d.decode(enc.encode(msg("a1"))) as unknown as Record<string, unknown>;
  h1.dst = "elsewhere";
  h1.relay = true;
  const h2 = d.decode(enc.encode(msg("a2")));
  assert.deepEqual(h2, JSON.parse(msg("a2")));
});

Deno.test("HeaderDecoder refuses malformed header bytes like the parser", () => {
  const d = new HeaderDecoder();
  d.decode(enc.encode(msg("a0")));
  assert.throws(() => d.decode(enc.encode(msg("a1").slice(0, -1))), /Malformed frame header JSON/);
  assert.throws(() => d.decode(enc.encode("[1]")), /expected an object with a "kind" string/);
});

Deno.test("HeaderDecoder decodes headers with ids too long for the stack (200 KiB)", () => {
  const big = "x".repeat(200 * 1024);
  same([msg(big), msg(`${big}1`), msg("a2"), msg(`${big}3`)]);
});
