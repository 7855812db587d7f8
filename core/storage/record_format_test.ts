import assert from "node:assert/strict";
import { encodeRecord, parseRecords, RECORD_HEADER_BYTES } from "./record_format.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

function log(n: number): { bytes: Uint8Array; offsets: number[] } {
  const parts = Array.from({ length: n }, (_, i) => encodeRecord(enc.encode(`record-${i}`)));
  const offsets: number[] = [];
  const bytes = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    offsets.push(o);
    bytes.set(p, o);
    o += p.length;
  }
  return { bytes, offsets };
}

const texts = (r: ReturnType<typeof parseRecords>) => r.records.map((x) => dec.decode(x.payload));

Deno.test("parseRecords() reads back every record in order", () => {
  const { bytes } = log(50);
  const r = parseRecords(bytes);
  assert.deepEqual(texts(r), Array.from({ length: 50 }, (_, i) => `record-${i}`));
  assert.equal(r.end, bytes.length);
  assert.equal(r.tail, undefined);
  assert.deepEqual(r.damaged, []);
});

Deno.test("parseRecords() reports a torn tail at every cut point and keeps the records before it", () => {
  const { bytes, offsets } = log(3);
  const last = offsets[2]!;
  for (let cut = last + 1; cut < bytes.length; cut++) {
    const r = parseRecords(bytes.subarray(0, cut));
    assert.deepEqual(texts(r), ["record-0", "record-1"], `cut at ${cut}`);
    assert.equal(r.end, last);
    assert.equal(r.tail?.offset, last);
  }
});

Deno.test("parseRecords() skips only the damaged record when a byte in the middle flips", async (t) => {
  const { bytes, offsets } = log(1000);
  const rec500 = offsets[500]!;
  for (
    const [what, at] of [["marker", 0], ["length", 5], ["checksum", 9], ["payload", 14]] as const
  ) {
    await t.step(what, () => {
      const b = bytes.slice();
      b[rec500 + at]! ^= 0x40;
      const r = parseRecords(b);
      assert.equal(r.records.length, 999);
      assert.equal(texts(r)[499], "record-499");
      assert.equal(texts(r)[500], "record-501");
      assert.equal(r.damaged.length, 1);
      assert.equal(r.damaged[0]!.offset, rec500);
      assert.equal(r.damaged[0]!.bytes, offsets[501]! - rec500);
      assert.equal(r.tail, undefined);
      // the span of the record after the damage covers the skipped bytes
      assert.equal(r.records[500]!.span, offsets[502]! - rec500);
    });
  }
});

Deno.test("parseRecords() resynchronises after a length that claims more than the rest", () => {
  const { bytes, offsets } = log(10);
  const b = bytes.slice();
  new DataView(b.buffer).setUint32(offsets[3]! + 4, 0x7fffffff);
  const r = parseRecords(b);
  assert.equal(r.records.length, 9);
  assert.equal(r.damaged[0]!.reason.startsWith("truncated record"), true);
  assert.ok(RECORD_HEADER_BYTES === 12);
});
