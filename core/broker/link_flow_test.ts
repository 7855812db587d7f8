import assert from "node:assert/strict";
import { setImmediate } from "node:timers";
import { type Connection, encodeFrame, LengthPrefixedFramer, memoryPair } from "../net/mod.ts";
import { decodePayload, encodePayload, type Frame, type Header } from "./frame.ts";
import { Link, type LinkOptions } from "./link.ts";
import { CONGESTED_MARKS } from "./writer.ts";
import { stalledConnection } from "../../tests/harness/mod.ts";

/**
 * One turn of the event loop: a timer, then the immediates queued by then
 * (the writer flushes in `setImmediate`, which a timer alone may run before).
 */
const turn = () =>
  new Promise<void>((r) => setTimeout(r, 0)).then(() => new Promise<void>((r) => setImmediate(r)));
const wait = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function link(conn: Connection, options: Partial<LinkOptions> = {}) {
  const frames: Header[] = [];
  const closed: string[] = [];
  let chunks = 0;
  const l = new Link(conn, {
    maxFrameBytes: 1024 * 1024,
    heartbeatMs: 0,
    onFrame: (f) => void frames.push(f.header),
    onChunkDone: () => void chunks++,
    onClose: (why) => void closed.push(why),
    ...options,
  });
  return { link: l, frames, closed, chunks: () => chunks };
}

/** The frames a raw (link-less) side receives. */
function rawFrames(conn: Connection): Frame[] {
  const out: Frame[] = [];
  const framer = new LengthPrefixedFramer({ maxFrameBytes: 1024 * 1024 });
  conn.receive({ data: (c) => framer.push(c, (p) => void out.push(decodePayload(p))) });
  return out;
}

/** The frames of `headers` as one byte string. */
const wire = (...headers: Header[]) =>
  new Uint8Array(headers.flatMap((h) => [...encodeFrame(encodePayload(h))]));

Deno.test("Link delivers frames split at every byte, in order", async () => {
  const bytes = wire({ kind: "acks", n: 1 }, { kind: "delivered", n: 2 });
  for (let cut = 1; cut < bytes.length; cut++) {
    const [a, b] = memoryPair();
    const l = link(b);
    a.send(bytes.slice(0, cut));
    await turn();
    a.send(bytes.slice(cut));
    await turn();
    assert.deepEqual(l.frames, [{ kind: "acks", n: 1 }, { kind: "delivered", n: 2 }], `cut ${cut}`);
    assert.equal(l.chunks(), 2, "onChunkDone runs once per received chunk");
    a.destroy();
    await l.link.closed;
  }
});

Deno.test("Link answers a ping with a pong and keeps pings to itself", async () => {
  const [a, b] = memoryPair();
  const seen = rawFrames(a);
  const l = link(b);
  a.send(wire({ kind: "ping", id: "x1", t: 42 }, { kind: "acks", n: 5 }));
  await turn();
  await turn();
  assert.deepEqual(l.frames, [{ kind: "acks", n: 5 }]);
  assert.deepEqual(seen.map((f) => f.header), [{ kind: "pong", id: "x1", t: 42 }]);
  a.destroy();
  await l.link.closed;
});

Deno.test("Link.hold() stops reading until every hold settles", async () => {
  const [a, b] = memoryPair();
  const l = link(b);
  const first = Promise.withResolvers<void>();
  const second = Promise.withResolvers<void>();
  l.link.hold(first.promise);
  l.link.hold(second.promise);
  assert.equal(b.paused, true);
  a.send(wire({ kind: "acks", n: 1 }));
  await turn();
  assert.deepEqual(l.frames, [], "nothing is read while held");
  first.resolve();
  await turn();
  assert.equal(b.paused, true, "holds nest");
  assert.deepEqual(l.frames, []);
  second.reject(new Error("a rejected hold releases too"));
  await turn();
  assert.equal(b.paused, false);
  assert.deepEqual(l.frames, [{ kind: "acks", n: 1 }]);
  a.destroy();
  await l.link.closed;
});

Deno.test("Link closes a peer that sends nothing after three heartbeat intervals", async () => {
  const [a, b] = memoryPair();
  rawFrames(a); // reads, never answers
  const l = link(b, { heartbeatMs: 10 });
  await l.link.closed;
  assert.equal(l.closed.length, 1);
  assert.match(l.closed[0]!, /^no frames for \d+ ms \(heartbeat timeout\)$/);
  a.destroy();
});

Deno.test("Link heartbeats keep two live links open and do not reach onFrame", async () => {
  const [a, b] = memoryPair();
  // Intervals long enough that a loaded machine's timer lag does not look like silence.
  const la = link(a, { heartbeatMs: 50 });
  const lb = link(b, { heartbeatMs: 50 });
  await wait(300);
  assert.equal(la.link.open && lb.link.open, true);
  assert.deepEqual([la.frames, lb.frames, la.closed, lb.closed], [[], [], [], []]);
  la.link.close("done");
  await Promise.all([la.link.closed, lb.link.closed]);
  assert.deepEqual(la.closed, ["done"]);
});

Deno.test("Link does not time out a peer while reading is held on purpose", async () => {
  const [a, b] = memoryPair();
  rawFrames(a);
  const l = link(b, { heartbeatMs: 10 });
  const release = Promise.withResolvers<void>();
  l.link.hold(release.promise);
  await wait(80);
  assert.equal(l.link.open, true);
  release.resolve();
  await l.link.closed;
  assert.match(l.closed[0]!, /heartbeat timeout/);
  a.destroy();
});

Deno.test("Link.ping() rejects when no pong comes in time", async () => {
  const [a, b] = memoryPair();
  rawFrames(a);
  const l = link(b);
  await assert.rejects(l.link.ping(20), { message: "Ping timed out after 20 ms" });
  assert.equal(l.link.pings.size, 0);
  l.link.close();
  await l.link.closed;
});

Deno.test("Link.send() after close returns false and sends nothing", async () => {
  const [a, b] = memoryPair();
  const seen = rawFrames(a);
  const l = link(b);
  assert.equal(l.link.send({ kind: "acks", n: 1 }), true);
  l.link.close("bye");
  l.link.close("again"); // ends the socket once; onClose still runs once
  await l.link.closed;
  assert.equal(l.link.send({ kind: "acks", n: 2 }), false);
  assert.deepEqual(seen.map((f) => f.header), [{ kind: "acks", n: 1 }]);
  // A second close() before the socket has closed replaces the reason (today's behaviour).
  assert.equal(l.closed.length, 1);
});

Deno.test("Link takes a frame at its size cap and closes on one byte more", async (t) => {
  const payload = encodePayload({ kind: "acks", n: 1 });
  for (const [max, ok] of [[payload.length, true], [payload.length - 1, false]] as const) {
    await t.step(`cap ${max}, frame ${payload.length}`, async () => {
      const [a, b] = memoryPair();
      rawFrames(a); // reads, so it sees the link's end and ends too
      const l = link(b, { maxFrameBytes: max });
      a.send(encodeFrame(payload));
      await turn();
      if (ok) {
        assert.deepEqual(l.frames, [{ kind: "acks", n: 1 }]);
        a.destroy();
      }
      await l.link.closed;
      if (!ok) {
        assert.deepEqual(l.frames, []);
        assert.match(l.closed[0]!, /^protocol error: /);
      }
      a.destroy();
    });
  }
});

Deno.test("Link stops reading while its peer does not read what it sends", async () => {
  const s = stalledConnection(64);
  const l = link(s.conn);
  const pings = Array.from(
    { length: 200 },
    (_, i) => ({ kind: "ping", id: `x${i}`, t: 0 }) as const,
  );
  s.input(wire(...pings)); // 200 pongs owed: past the congestion mark once flushed
  await turn();
  assert.ok(s.conn.unsent >= 64 * CONGESTED_MARKS, "the pongs wait for the peer");
  assert.equal(s.conn.paused, false);
  s.input(wire({ kind: "ping", id: "y", t: 0 }));
  await turn();
  assert.equal(s.conn.paused, true, "a chunk read while the writer is congested pauses reading");
  s.input(wire({ kind: "acks", n: 1 }));
  await turn();
  assert.deepEqual(l.frames, [], "nothing more is read until the peer reads");
  s.release();
  await turn();
  await turn();
  assert.equal(s.conn.paused, false);
  assert.deepEqual(l.frames, [{ kind: "acks", n: 1 }]);
  s.conn.destroy();
  await l.link.closed;
});
