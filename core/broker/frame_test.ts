import assert from "node:assert/strict";
import { LengthPrefixedFramer } from "../net/framing/mod.ts";
import { ProtocolError } from "../net/mod.ts";
import { decodeData, decodePayload, encodeData, encodePayload, type MsgHeader } from "./frame.ts";

const h: MsgHeader = { kind: "msg", type: "t", src: "a", dst: "b", id: "1", enc: "json" };

Deno.test("encodePayload() lays out header, data and binary part with u32 lengths", () => {
  const data = new TextEncoder().encode('{"x":1}');
  const bin = new Uint8Array([9, 8, 7]);
  const p = encodePayload(h, data, bin);
  const v = new DataView(p.buffer);
  const hl = v.getUint32(0);
  assert.deepEqual(JSON.parse(new TextDecoder().decode(p.subarray(4, 4 + hl))), h);
  assert.equal(v.getUint32(4 + hl), data.length);
  const f = decodePayload(p);
  assert.deepEqual(f.header, h);
  assert.deepEqual(decodeData(f.data, "json"), { x: 1 });
  assert.deepEqual([...f.binary], [9, 8, 7]);
});

Deno.test("encodeData() sends strings as text and other values as JSON", () => {
  assert.equal(encodeData("hi").enc, "text");
  assert.equal(encodeData({ a: 1 }).enc, "json");
  assert.equal(encodeData(undefined).enc, undefined);
  assert.equal(decodeData(encodeData("").bytes, "text"), "");
});

Deno.test("decodePayload() rejects lengths that overrun the frame", () => {
  const p = encodePayload(h);
  new DataView(p.buffer).setUint32(0, 9999);
  assert.throws(() => decodePayload(p), ProtocolError);
  assert.throws(() => decodePayload(new Uint8Array(3)), /shorter than 8/);
});

Deno.test("frames split anywhere come back whole through the length-prefixed framer", () => {
  const frames = [
    encodePayload(h),
    encodePayload({ kind: "acks", n: 5 }, new Uint8Array(0), new Uint8Array(70_000)),
  ];
  const wire: number[] = [];
  for (const f of frames) {
    const len = new Uint8Array(4);
    new DataView(len.buffer).setUint32(0, f.length);
    wire.push(...len, ...f);
  }
  const bytes = new Uint8Array(wire);
  const got: string[] = [];
  const framer = new LengthPrefixedFramer({ maxFrameBytes: 1 << 20 });
  for (let i = 0; i < bytes.length; i += 777) {
    framer.push(bytes.subarray(i, i + 777), (p) => got.push(decodePayload(p).header.kind));
  }
  assert.deepEqual(got, ["msg", "acks"]);
});
