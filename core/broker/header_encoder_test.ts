import assert from "node:assert/strict";
import type { Header, MsgHeader } from "./frame.ts";
import { HeaderEncoder } from "./header_encoder.ts";

/** Encodes each header in turn with one encoder; each must come out as `JSON.stringify` writes it. */
function same(headers: Header[]): void {
  const e = new HeaderEncoder();
  const buf = new Uint8Array(4096);
  for (const h of headers) {
    e.prepare(h);
    assert.ok(e.maxBytes < buf.length);
    const n = e.writeInto(buf, 7);
    assert.equal(new TextDecoder().decode(buf.subarray(7, 7 + n)), JSON.stringify(h));
  }
}

const msg = (id: string, extra: Record<string, unknown> = {}): Header =>
  ({ kind: "msg", type: "t", src: "alice", dst: "srv", id, enc: "text", ...extra }) as Header;

Deno.test("HeaderEncoder writes what JSON.stringify writes for headers that differ in the id", () => {
  same([msg("a0"), msg("a1"), msg("a2b"), msg(""), msg("x".repeat(40)), msg("a3")]);
});

Deno.test("HeaderEncoder writes the JSON anew whatever else changes", async (t) => {
  const cases: Record<string, Header[]> = {
    "another field": [msg("a0"), msg("a1", { ack: true }), msg("a2", { enc: "json" }), msg("a3")],
    "another value": [msg("a0"), { ...msg("a1"), src: "mallory" } as Header, msg("a2")],
    "field order": [
      msg("a0"),
      { id: "a1", kind: "msg", type: "t", src: "alice", dst: "srv", enc: "text" } as Header,
    ],
    "an id JSON escapes": [msg("a0"), msg('a"1'), msg("a\\2"), msg("é3"), msg("a\n4"), msg("a5")],
    "an undefined field": [msg("a0", { tag: undefined }), msg("a1", { tag: undefined }), msg("a2")],
    "a nested object": [
      msg("a0", { file: { transfer: "t", name: "n", offset: 0, size: 1 } }),
      msg("a1", { file: { transfer: "t", name: "n", offset: 1, size: 1 } }),
    ],
    "a value that holds the id's text": [
      msg("a0", { tag: '"id":"a0"' }),
      msg("a1", { tag: '"id":"a0"' }),
    ],
    "other kinds between messages": [msg("a0"), { kind: "acks", n: 1 }, msg("a1")],
  };
  for (const [name, headers] of Object.entries(cases)) await t.step(name, () => same(headers));
});

Deno.test("HeaderEncoder notices a header object changed after it was written", () => {
  const h = msg("a0") as MsgHeader;
  const e = new HeaderEncoder();
  const buf = new Uint8Array(1024);
  e.prepare(h);
  e.writeInto(buf, 0);
  h.dst = "elsewhere";
  e.prepare({ ...h, id: "a1" });
  const n = e.writeInto(buf, 0);
  assert.equal(new TextDecoder().decode(buf.subarray(0, n)), JSON.stringify({ ...h, id: "a1" }));
});
