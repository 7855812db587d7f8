import assert from "node:assert/strict";
import { encodeFrame, LengthPrefixedFramer } from "./length_prefixed.ts";
import { PayloadTooLargeError } from "../errors.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function* splits(bytes: Uint8Array): Generator<[string, Uint8Array[]]> {
  for (let cut = 0; cut <= bytes.length; cut++) {
    yield [`cut at ${cut}`, [bytes.subarray(0, cut), bytes.subarray(cut)]];
  }
  yield ["one byte at a time", Array.from(bytes, (_, i) => bytes.subarray(i, i + 1))];
}

Deno.test("encodeFrame writes a 4-byte big-endian length before the payload", () => {
  assert.deepEqual(
    encodeFrame(enc.encode("hi")),
    new Uint8Array([0, 0, 0, 2, 0x68, 0x69]),
  );
  const big = encodeFrame(new Uint8Array(0x010203));
  assert.deepEqual(big.subarray(0, 4), new Uint8Array([0, 1, 2, 3]));
});

Deno.test("LengthPrefixedFramer delivers frames at every split point", () => {
  const payloads = ["hello", "", "héllo 🎉", "x".repeat(300)];
  const stream = concat(payloads.map((p) => encodeFrame(enc.encode(p))));
  for (const [name, parts] of splits(stream)) {
    const framer = new LengthPrefixedFramer({ maxFrameBytes: 1024 });
    const out: string[] = [];
    for (const p of parts) framer.push(p, (f) => out.push(dec.decode(f)));
    assert.deepEqual(out, payloads, name);
    assert.equal(framer.pending, 0, name);
  }
});

Deno.test("LengthPrefixedFramer counts pending header and payload bytes", () => {
  const framer = new LengthPrefixedFramer({ maxFrameBytes: 1024 });
  const frame = encodeFrame(enc.encode("abcdef"));
  framer.push(frame.subarray(0, 2), () => {});
  assert.equal(framer.pending, 2);
  framer.push(frame.subarray(2, 7), () => {});
  assert.equal(framer.pending, 7);
});

Deno.test("LengthPrefixedFramer rejects a declared length over the limit before buffering it", () => {
  const framer = new LengthPrefixedFramer({ maxFrameBytes: 10 });
  const out: string[] = [];
  const stream = concat([encodeFrame(enc.encode("ok")), new Uint8Array([0, 0x10, 0, 0])]);
  assert.throws(
    () => framer.push(stream, (f) => out.push(dec.decode(f))),
    (e: unknown) => {
      assert.ok(e instanceof PayloadTooLargeError);
      assert.equal(e.message, "Frame too large: 1048576 bytes exceeds the 10 byte limit");
      return true;
    },
  );
  assert.deepEqual(out, ["ok"]);
  assert.throws(() => framer.push(encodeFrame(new Uint8Array(1)), () => {}), PayloadTooLargeError);
});

Deno.test("LengthPrefixedFramer rejects an oversize header split across chunks", () => {
  const framer = new LengthPrefixedFramer({ maxFrameBytes: 10 });
  framer.push(new Uint8Array([0xff, 0xff]), () => {});
  assert.throws(() => framer.push(new Uint8Array([0xff, 0xff]), () => {}), {
    message: "Frame too large: 4294967295 bytes exceeds the 10 byte limit",
  });
});
