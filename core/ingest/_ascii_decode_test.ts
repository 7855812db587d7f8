import assert from "node:assert/strict";
import { AsciiChunkDecoder } from "./_ascii_decode.ts";

const enc = new TextEncoder();

Deno.test("AsciiChunkDecoder gives values inside an ASCII chunk as ASCII text", () => {
  const chunk = enc.encode('{"a":1} {"b":"x"}');
  const d = new AsciiChunkDecoder();
  d.begin(chunk);
  assert.equal(d.decode(chunk.subarray(0, 7)), '{"a":1}');
  assert.equal(d.ascii, true);
  assert.equal(d.decode(chunk.subarray(8)), '{"b":"x"}');
  assert.equal(d.ascii, true);
  d.end();
});

Deno.test("AsciiChunkDecoder decodes values of a non-ASCII chunk or another buffer as UTF-8", () => {
  const chunk = enc.encode('{"a":1}{"é":2}');
  const d = new AsciiChunkDecoder();
  d.begin(chunk);
  assert.equal(d.decode(chunk.subarray(0, 7)), '{"a":1}');
  assert.equal(d.ascii, true);
  assert.equal(d.decode(chunk.subarray(7)), '{"é":2}');
  assert.equal(d.ascii, false);
  // A value that spanned chunks comes from the framer's own buffer.
  const elsewhere = enc.encode('{"ü":3}');
  assert.equal(d.decode(elsewhere), '{"ü":3}');
  assert.equal(d.ascii, false);
  d.end();
  assert.equal(d.decode(enc.encode("{}")), "{}");
  assert.equal(d.ascii, true);
});

Deno.test("AsciiChunkDecoder refuses bytes that are not UTF-8, also inside a chunk", () => {
  const chunk = new Uint8Array([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d]);
  const d = new AsciiChunkDecoder();
  d.begin(chunk);
  assert.throws(() => d.decode(chunk), TypeError);
});
