import assert from "node:assert/strict";
import { connect, type Connection, listen, memoryPair } from "../net/mod.ts";
import { FakeClock } from "../async/mod.ts";
import type { MsgHeader } from "./frame.ts";
import { Link } from "./link.ts";
import { PeerState } from "./peer.ts";
import { tempDir, waitUntil } from "../../tests/harness/mod.ts";

const BIG = new Uint8Array(64 * 1024);

/** A loopback TCP connection: a real socket, so a receiver that stops reading congests the sender. */
async function tcpPair() {
  let accepted!: (c: Connection) => void;
  const got = new Promise<Connection>((r) => accepted = r);
  const server = await listen({ host: "127.0.0.1", port: 0 }, (conn) => {
    accepted(conn);
    return conn.closed;
  });
  const client = await connect({ host: "127.0.0.1", port: server.port });
  const conn = await got;
  return {
    client,
    server: conn,
    async [Symbol.asyncDispose]() {
      client.destroy();
      conn.destroy();
      await server.close();
    },
  };
}

/** The receiving end: collects `TYPE:i` of each message; reads only once `release()` is called. */
function receiver(conn: Connection) {
  const got: string[] = [];
  const { promise: reading, resolve: release } = Promise.withResolvers<void>();
  const link = new Link(conn, {
    maxFrameBytes: 1024 * 1024,
    heartbeatMs: 0,
    onFrame: (f) => {
      const h = f.header as MsgHeader;
      if (h.kind === "msg") got.push(`${h.type}:${h.id}`);
    },
    onClose: () => {},
  });
  link.hold(reading);
  return { got, release: () => release() };
}

function sender(conn: Connection): Link {
  return new Link(conn, { maxFrameBytes: 1024 * 1024, heartbeatMs: 0, onFrame() {}, onClose() {} });
}

function msg(type: string, i: number): MsgHeader {
  return { kind: "msg", type, src: "me", dst: "peer", id: String(i) };
}

/** Sends bulk messages until the link is congested; returns how many went onto it. */
function fill(peer: PeerState): number {
  for (let i = 0; i < 10_000; i++) {
    if (!peer.send(msg("bulk", i), "", BIG)) return i + 1;
  }
  throw new Error("the link never became congested");
}

Deno.test("PeerState: messages waiting for a congested link leave highest priority first, in order within a priority", async () => {
  await using tmp = await tempDir("sockkit-peer-test-");
  const dir = tmp.path;
  await using pair = await tcpPair();
  const rx = receiver(pair.server);
  const peer = new PeerState("peer", dir, { fsync: false, priorities: { urgent: 5 } });
  peer.attach(sender(pair.client));
  const sent = fill(peer);
  for (let i = sent; i < sent + 3; i++) assert.equal(peer.send(msg("bulk", i), "", BIG), false);
  for (let i = 0; i < 2; i++) assert.equal(peer.send(msg("urgent", i), "", BIG), false);
  const drained = peer.drained();
  rx.release();
  await drained;
  await waitUntil(() => rx.got.length === sent + 5, { what: `${sent + 5} messages` });
  assert.deepEqual(rx.got, [
    ...Array.from({ length: sent }, (_, i) => `bulk:${i}`),
    "urgent:0",
    "urgent:1",
    ...[0, 1, 2].map((k) => `bulk:${sent + k}`),
  ]);
  peer.detach();
  await peer.journal.close();
});

Deno.test("PeerState: on link-down, held and unacknowledged messages are journaled by priority and replayed highest first; acks consume every priority", async () => {
  await using tmp = await tempDir("sockkit-peer-test-");
  const dir = tmp.path;
  const peer = new PeerState("peer", dir, { fsync: false, priorities: { urgent: 5, slow: -1 } });
  let sent: number;
  {
    await using pair = await tcpPair();
    receiver(pair.server);
    const link = sender(pair.client);
    peer.attach(link);
    sent = fill(peer);
    peer.send(msg("slow", 0), "", BIG);
    peer.send(msg("bulk", sent), "", BIG);
    peer.send(msg("urgent", 0), "", BIG);
    await using _ = link;
  }
  peer.detach();
  await peer.journal.flush();
  assert.equal(peer.journal.count, sent + 3);
  await using pair = await tcpPair();
  const rx = receiver(pair.server);
  rx.release();
  peer.attach(sender(pair.client));
  await waitUntil(() => rx.got.length === sent + 3, { what: `${sent + 3} messages` });
  assert.deepEqual(rx.got, [
    "urgent:0",
    ...Array.from({ length: sent + 1 }, (_, i) => `bulk:${i}`),
    "slow:0",
  ]);
  peer.acked(sent + 3);
  assert.equal(peer.journal.count, 0);
  peer.detach();
  await peer.journal.close();
  const reopened = new PeerState("peer", dir, { fsync: false });
  assert.equal(reopened.journal.count, 0);
  await reopened.journal.close();
});

Deno.test("PeerState: a peer that reads but never acknowledges is cut off at the unacknowledged-bytes cap, and nothing it missed is lost", async () => {
  await using tmp = await tempDir("sockkit-peer-test-");
  const peer = new PeerState("peer", tmp.path, { fsync: false, maxUnackedBytes: 1024 * 1024 });
  await using pair = await tcpPair();
  receiver(pair.server).release(); // reads everything, acknowledges nothing
  let reason = "";
  const link = new Link(pair.client, {
    maxFrameBytes: 1024 * 1024,
    heartbeatMs: 0,
    onFrame() {},
    onClose: (why) => reason = why,
  });
  peer.attach(link);
  // Before: every message stayed in memory for as long as the peer kept reading.
  let sent = 0;
  while (link.open && sent < 1000) {
    peer.send(msg("bulk", sent++), "", BIG);
    await new Promise((r) => setTimeout(r, 0));
  }
  assert.ok(
    sent <= 1024 * 1024 / BIG.length + 2,
    `${sent} messages of 64 KiB went out before the cut`,
  );
  await waitUntil(() => reason !== "", { what: "the link to close" });
  assert.match(reason, /peer "peer" has not acknowledged \d+ messages .*over the 1024 KiB cap/);
  peer.detach();
  await peer.journal.flush();
  assert.equal(
    peer.journal.count,
    sent,
    "every unacknowledged message is journaled for the next link",
  );
  await peer.journal.close();
});

Deno.test("PeerState: a refusal's reason from the peer reaches the sender cut to 1024 characters", async () => {
  await using tmp = await tempDir("sockkit-peer-test-");
  const peer = new PeerState("peer", tmp.path, { fsync: false });
  await using pair = await tcpPair();
  receiver(pair.server).release();
  peer.attach(sender(pair.client));
  let err: Error | undefined;
  peer.send(msg("bulk", 1), "", new Uint8Array(0), (e) => err = e);
  peer.refused(1, "x".repeat(100_000));
  peer.acked(1);
  assert.ok(err, "the refusal reaches the sender");
  assert.match(err.message, /^Peer "peer" refused the message: x+$/);
  assert.equal(err.message.length, 'Peer "peer" refused the message: '.length + 1024);
  peer.detach();
  await peer.journal.close();
});

Deno.test("PeerState: a caller that ignores send()'s false is refused with an error once the held messages reach their cap; the held ones still arrive", async () => {
  await using tmp = await tempDir("sockkit-peer-test-");
  const each = 128 + BIG.length; // what one held message of BIG counts
  const peer = new PeerState("peer", tmp.path, {
    fsync: false,
    priorities: { urgent: 5 },
    maxHeldBytes: 4 * each,
  });
  await using pair = await tcpPair();
  const rx = receiver(pair.server);
  peer.attach(sender(pair.client));
  const sent = fill(peer);
  // Before: every one of these was held in memory, however many there were.
  for (let i = 0; i < 4; i++) assert.equal(peer.send(msg("urgent", i), "", BIG), false);
  let acked: Error | undefined | "never" = "never";
  assert.throws(
    () => peer.send(msg("urgent", 4), "", BIG, (e) => acked = e),
    {
      name: "BrokerError",
      message: `Cannot queue a message of type "urgent" for peer "peer": 4 messages (${
        Math.round(4 * each / 1024)
      } KiB) wait for its congested link already, and this one would go over the ${
        Math.round(4 * each / 1024)
      } KiB cap; the message was not queued (wait for each send to resolve, or for drained(), before sending more)`,
    },
  );
  assert.equal(acked, "never", "a refused message gets no acknowledgement callback");
  const drained = peer.drained();
  rx.release();
  await drained;
  // Once the held ones are on the link there is room again.
  assert.doesNotThrow(() => peer.send(msg("urgent", 5), "", BIG));
  await waitUntil(() => rx.got.length === sent + 5, { what: `${sent + 5} messages` });
  assert.deepEqual(rx.got.slice(sent), [
    "urgent:0",
    "urgent:1",
    "urgent:2",
    "urgent:3",
    "urgent:5",
  ]);
  peer.detach();
  await peer.journal.close();
});

Deno.test("PeerState: a link that reads but acknowledges nothing for ackTimeoutMs is closed, and its senders' store() settles with the messages journaled", async () => {
  await using tmp = await tempDir("sockkit-peer-test-");
  const clock = new FakeClock();
  const peer = new PeerState("peer", tmp.path, { fsync: false, ackTimeoutMs: 1000 });
  const [near, far] = memoryPair();
  far.receive({ data() {} }); // reads every frame, acknowledges none
  let reason = "";
  const link = new Link(near, {
    maxFrameBytes: 1024 * 1024,
    heartbeatMs: 0,
    clock,
    onFrame() {},
    onClose: (why) => {
      reason = why;
      peer.detach();
    },
  });
  peer.attach(link);
  const stored = [0, 1, 2].map((i) => peer.store(msg("bulk", i), "", BIG));
  let settled = 0;
  for (const p of stored) p.then(() => settled++);
  clock.advance(900);
  peer.acked(1); // progress: the deadline starts again
  clock.advance(900);
  await new Promise((r) => setTimeout(r, 0));
  assert.equal(link.open, true, "an acknowledgement 900 ms ago keeps the link");
  assert.equal(settled, 1, "only the acknowledged message is settled");
  clock.advance(400);
  await waitUntil(() => reason !== "", { what: "the link to close past the deadline" });
  assert.match(
    reason,
    /^peer "peer" acknowledged none of its 2 unacknowledged messages for 1[0-9]{3} ms \(over the 1000 ms acknowledgement deadline\); they are journaled and sent again when it reconnects \(--ack-timeout\)$/,
  );
  await Promise.all(stored);
  assert.equal(peer.journal.count, 2, "the two unacknowledged messages are journaled");
  await peer.journal.close();
  far.destroy();
});
