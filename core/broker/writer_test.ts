import assert from "node:assert/strict";
import {
  type Connection,
  LengthPrefixedFramer,
  memoryPair,
  PayloadTooLargeError,
} from "../net/mod.ts";
import { decodePayload, encodePayload, type Frame } from "./frame.ts";
import { CONGESTED_MARKS, FrameWriter } from "./writer.ts";
import { stalledConnection } from "../../tests/harness/mod.ts";

const MAX = 1024 * 1024;
const turn = () => new Promise<void>((r) => setTimeout(r, 0));

/** Collects what one side of a memory pair receives: raw chunks and decoded frames. */
function collect(conn: Connection) {
  const chunks: Uint8Array[] = [];
  const frames: Frame[] = [];
  const framer = new LengthPrefixedFramer({ maxFrameBytes: MAX });
  conn.receive({
    data: (c) => {
      chunks.push(c.slice());
      framer.push(c, (p) => {
        const f = decodePayload(p);
        frames.push({ ...f, data: new Uint8Array(f.data), binary: new Uint8Array(f.binary) });
      });
    },
  });
  return { chunks, frames };
}

Deno.test("FrameWriter coalesces frames written in one turn into one send", async () => {
  const [a, b] = memoryPair();
  const got = collect(b);
  const w = new FrameWriter(a, { maxFrameBytes: MAX });
  for (let n = 0; n < 5; n++) assert.equal(w.write({ kind: "acks", n }, `d${n}`), true);
  assert.equal(got.chunks.length, 0, "nothing is sent before the turn ends");
  await turn();
  await turn();
  assert.equal(got.chunks.length, 1);
  assert.deepEqual(
    got.frames.map((f) => f.header),
    [0, 1, 2, 3, 4].map((n) => ({ kind: "acks", n })),
  );
  assert.deepEqual(
    got.frames.map((f) => new TextDecoder().decode(f.data)),
    ["d0", "d1", "d2", "d3", "d4"],
  );
  a.destroy();
});

Deno.test("FrameWriter.flush() sends queued frames at once", async () => {
  const [a, b] = memoryPair();
  const got = collect(b);
  const w = new FrameWriter(a, { maxFrameBytes: MAX });
  w.write({ kind: "acks", n: 1 });
  w.flush();
  await Promise.resolve();
  await turn();
  assert.deepEqual(got.frames.map((f) => f.header), [{ kind: "acks", n: 1 }]);
  w.flush(); // nothing queued: sends nothing
  await turn();
  assert.equal(got.chunks.length, 1);
  a.destroy();
});

Deno.test("FrameWriter sends a large binary part as its own chunk, in order", async (t) => {
  for (const size of [16 * 1024 - 1, 16 * 1024, 300 * 1024]) {
    await t.step(`binary of ${size} bytes`, async () => {
      const [a, b] = memoryPair();
      const got = collect(b);
      const w = new FrameWriter(a, { maxFrameBytes: MAX });
      const binary = new Uint8Array(size).map((_, i) => i % 251);
      w.write({ kind: "acks", n: 1 });
      w.write({ kind: "acks", n: 2 }, "x", binary);
      w.write({ kind: "acks", n: 3 });
      await turn();
      await turn();
      assert.deepEqual(
        got.frames.map((f) => f.header),
        [1, 2, 3].map((n) => ({ kind: "acks", n })),
      );
      assert.deepEqual(got.frames[1]!.binary, binary);
      const own = got.chunks.some((c) => c.length === size);
      assert.equal(own, size >= 16 * 1024, "only parts of 16 KiB and more travel uncopied");
      a.destroy();
    });
  }
});

Deno.test("FrameWriter flushes without waiting once 7/8 of a block is queued", async () => {
  const [a, b] = memoryPair();
  const got = collect(b);
  const w = new FrameWriter(a, { maxFrameBytes: MAX });
  const data = "y".repeat(8 * 1024); // inline, copied into the block
  let n = 0;
  while (got.chunks.length === 0 && n < 100) {
    w.write({ kind: "acks", n: n++ }, data);
    await Promise.resolve(); // microtasks only: the setImmediate flush has not run
  }
  assert.ok(got.chunks.length > 0, "224 KiB queued are sent within the same turn");
  assert.ok(n >= 27 && n <= 29, `sent after ${n} frames of 8 KiB`);
  w.flush();
  await turn();
  assert.equal(got.frames.length, n);
  assert.deepEqual(got.frames.map((f) => (f.header as { n: number }).n), [...Array(n).keys()]);
  a.destroy();
});

Deno.test("FrameWriter refuses a frame over the cap and sends nothing for it", async (t) => {
  const header = { kind: "acks", n: 1 } as const;
  const overhead = 8 + JSON.stringify(header).length;
  for (const [extra, fits] of [[0, true], [1, false]] as const) {
    await t.step(`payload ${extra === 0 ? "at" : "one byte over"} the cap`, async () => {
      const [a, b] = memoryPair();
      const got = collect(b);
      const max = 100;
      const w = new FrameWriter(a, { maxFrameBytes: max });
      const data = new Uint8Array(max - overhead + extra);
      if (fits) w.write(header, data);
      else assert.throws(() => w.write(header, data), PayloadTooLargeError);
      w.write({ kind: "acks", n: 2 });
      await turn();
      await turn();
      const want = fits ? [header, { kind: "acks", n: 2 }] : [{ kind: "acks", n: 2 }];
      assert.deepEqual(got.frames.map((f) => f.header), want);
      a.destroy();
    });
  }
  await t.step("writePayload at and over the cap", () => {
    const [a] = memoryPair();
    const w = new FrameWriter(a, { maxFrameBytes: 10 });
    assert.equal(w.writePayload(new Uint8Array(10)), true);
    assert.throws(() => w.writePayload(new Uint8Array(11)), PayloadTooLargeError);
    a.destroy();
  });
});

Deno.test("FrameWriter.writePayload() sends encoded payloads, small and large, in order", async () => {
  const [a, b] = memoryPair();
  const got = collect(b);
  const w = new FrameWriter(a, { maxFrameBytes: MAX });
  const big = new Uint8Array(20 * 1024).fill(7);
  w.writePayload(encodePayload({ kind: "acks", n: 1 }));
  w.writePayload(encodePayload({ kind: "acks", n: 2 }, undefined, big));
  w.write({ kind: "acks", n: 3 });
  await turn();
  await turn();
  assert.deepEqual(got.frames.map((f) => f.header), [1, 2, 3].map((n) => ({ kind: "acks", n })));
  assert.deepEqual(got.frames[1]!.binary, big);
  a.destroy();
});

Deno.test("FrameWriter reports congestion while the peer does not read, and drains", async () => {
  const hwm = 1024;
  const s = stalledConnection(hwm);
  const w = new FrameWriter(s.conn, { maxFrameBytes: MAX });
  assert.equal(w.congested, false);
  await w.drained(); // resolves at once when not congested
  const data = new Uint8Array(1000);
  let accepted = 0;
  while (w.write({ kind: "acks", n: accepted }, data)) {
    accepted++;
    w.flush();
    assert.ok(accepted < 100, "congestion is reported");
  }
  w.flush();
  assert.equal(w.congested, true);
  assert.ok(s.conn.unsent >= hwm * CONGESTED_MARKS);
  let drained = false;
  const wait = w.drained().then(() => void (drained = true));
  await turn();
  assert.equal(drained, false, "drained() waits while the peer does not read");
  s.release();
  await wait;
  assert.equal(w.congested, false);
  assert.ok(s.taken() >= (accepted + 1) * 1000);
  s.conn.destroy();
  await s.conn.closed;
});

Deno.test("FrameWriter.drained() resolves when the connection closes while congested", async () => {
  const s = stalledConnection(64);
  const w = new FrameWriter(s.conn, { maxFrameBytes: MAX });
  w.write({ kind: "acks", n: 1 }, new Uint8Array(64 * CONGESTED_MARKS));
  w.flush();
  assert.equal(w.congested, true);
  const wait = w.drained();
  s.conn.destroy();
  await wait;
  await s.conn.closed;
});

Deno.test("FrameWriter.drained() gives every sender waiting on a congested link one shared wait", async () => {
  const hwm = 64;
  const s = stalledConnection(hwm);
  const w = new FrameWriter(s.conn, { maxFrameBytes: MAX });
  w.write({ kind: "acks", n: 1 }, new Uint8Array(hwm * CONGESTED_MARKS));
  w.flush();
  assert.equal(w.congested, true);
  const waits = new Set(Array.from({ length: 1000 }, () => w.drained()));
  assert.equal(waits.size, 1, "one wait, not one per caller");
  s.release();
  await Promise.all(waits);
  assert.equal(w.congested, false);
  s.conn.destroy();
  await s.conn.closed;
});
