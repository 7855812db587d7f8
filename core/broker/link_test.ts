import assert from "node:assert/strict";
import { memoryPair } from "../net/mod.ts";
import type { Frame } from "./frame.ts";
import { Link } from "./link.ts";

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
