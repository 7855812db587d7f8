import assert from "node:assert/strict";
import { encodeFrame, LengthPrefixedFramer, memoryPair } from "../net/mod.ts";
import { waitUntil } from "../../tests/harness/mod.ts";
import { decodePayload, encodePayload, type Frame } from "./frame.ts";
import { Link } from "./link.ts";
import { FakeClock } from "../async/mod.ts";

function link(conn: ReturnType<typeof memoryPair>[0], frames: Frame[], closed: string[]) {
  return new Link(conn, {
    maxFrameBytes: 1024 * 1024,
    heartbeatMs: 0,
    onFrame: (f) => void frames.push(f),
    onClose: (why) => void closed.push(why),
  });
}

Deno.test("Link carries frames both ways over a connection and answers pings", async () => {
  const [a, b] = memoryPair();
  const fa: Frame[] = [];
  const fb: Frame[] = [];
  const ca: string[] = [];
  const cb: string[] = [];
  const la = link(a, fa, ca);
  const lb = link(b, fb, cb);
  la.send({ kind: "acks", n: 3 });
  lb.send({ kind: "acks", n: 4 });
  const rtt = await la.ping(2000);
  assert.ok(rtt >= 0);
  assert.deepEqual(fb.map((f) => f.header), [{ kind: "acks", n: 3 }]);
  assert.deepEqual(fa.map((f) => f.header), [{ kind: "acks", n: 4 }]);
  la.close("done");
  await Promise.all([la.closed, lb.closed]);
  assert.deepEqual(ca, ["done"]);
  assert.equal(cb.length, 1);
});

Deno.test("Link closes on a frame over the size cap with a protocol error", async () => {
  const [a, b] = memoryPair();
  const closed: string[] = [];
  link(b, [], closed);
  const big = new Uint8Array(8);
  new DataView(big.buffer).setUint32(0, 64 * 1024 * 1024);
  a.send(big);
  await b.closed;
  assert.match(closed[0]!, /protocol error/);
  a.destroy();
});

Deno.test("Link as AsyncDisposable delivers what was sent, then closes both ends", async () => {
  const [a, b] = memoryPair();
  const fb: Frame[] = [];
  const ca: string[] = [];
  const cb: string[] = [];
  const lb = link(b, fb, cb);
  {
    await using la = link(a, [], ca);
    la.send({ kind: "acks", n: 7 });
  }
  await lb.closed;
  assert.deepEqual(fb.map((f) => f.header), [{ kind: "acks", n: 7 }]);
  assert.deepEqual(ca, ["closed locally"]);
  assert.equal(cb.length, 1);
});

/** A link with heartbeats on `clock`, recording the pings its peer receives (the peer answers them). */
function beating(clock: FakeClock, heartbeatMs = 1000) {
  const [a, b] = memoryPair();
  const closed: string[] = [];
  const l = new Link(a, {
    maxFrameBytes: 1024 * 1024,
    heartbeatMs,
    clock,
    onFrame: () => {},
    onClose: (why) => void closed.push(why),
  });
  const pings: string[] = [];
  const framer = new LengthPrefixedFramer({ maxFrameBytes: 1024 * 1024 });
  let answer = true;
  b.receive({
    data: (c) =>
      framer.push(c, (p) => {
        const h = decodePayload(p).header;
        if (h.kind !== "ping") return;
        pings.push(h.id);
        if (answer) b.send(encodeFrame(encodePayload({ kind: "pong", id: h.id, t: h.t })));
      }),
  });
  return {
    link: l,
    closed,
    pings,
    /** Stops answering pings (the peer hangs). */
    hang: () => void (answer = false),
    /** Advances the clock one interval and waits until the peer has the ping (and we have its pong). */
    async beat() {
      const before = pings.length;
      clock.advance(heartbeatMs);
      if (!l.open) return;
      await waitUntil(() => pings.length > before);
      await new Promise((r) => setTimeout(r, 0)); // the pong's way back
    },
    async [Symbol.asyncDispose]() {
      l.close();
      await l.closed;
      b.destroy();
    },
  };
}

Deno.test("Link pings once per heartbeat interval and stays up while the peer answers", async () => {
  const clock = new FakeClock();
  await using h = beating(clock);
  for (let i = 0; i < 6; i++) await h.beat();
  assert.deepEqual(h.pings, ["hb0", "hb1", "hb2", "hb3", "hb4", "hb5"]);
  assert.equal(h.link.open, true);
  assert.deepEqual(h.closed, []);
});

Deno.test("Link drops a peer silent for more than 3 heartbeat intervals, naming the timeout", async () => {
  const clock = new FakeClock();
  await using h = beating(clock);
  await h.beat(); // answered: the link heard from its peer at this time
  h.hang();
  for (let i = 0; i < 3; i++) await h.beat(); // 1, 2, 3 intervals of silence: not yet
  assert.equal(h.link.open, true);
  clock.advance(1000); // 4 intervals
  await h.link.closed;
  assert.deepEqual(h.closed, ["no frames for 4000 ms (heartbeat timeout)"]);
  assert.equal(clock.pending, 0, "the heartbeat timer is stopped");
});

Deno.test("Link does not time out while it holds reading on purpose", async () => {
  const clock = new FakeClock();
  await using h = beating(clock);
  h.hang();
  const release = Promise.withResolvers<void>();
  h.link.hold(release.promise);
  for (let i = 0; i < 6; i++) await h.beat();
  assert.equal(h.link.open, true, "a held link is silent on purpose");
  release.resolve();
  await release.promise;
  for (let i = 0; i < 3; i++) await h.beat();
  assert.equal(h.link.open, true);
  clock.advance(1000);
  await h.link.closed;
  assert.match(h.closed[0]!, /heartbeat timeout/);
});

Deno.test("Link.ping rejects when no pong comes within its timeout", async () => {
  const clock = new FakeClock();
  await using h = beating(clock, 0);
  h.hang();
  const rtt = h.link.ping(500);
  await waitUntil(() => h.pings.length === 1);
  clock.advance(499);
  clock.advance(1);
  await assert.rejects(rtt, /Ping timed out after 500 ms/);
});
