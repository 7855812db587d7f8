import assert from "node:assert/strict";
import {
  type Connection,
  encodeFrame,
  LengthPrefixedFramer,
  memoryPair,
  type PeerIdentity,
} from "../net/mod.ts";
import { nullLogger } from "../log/mod.ts";
import { tempDir, waitUntil } from "../../tests/harness/mod.ts";
import { decodePayload, encodePayload, type Header, type MsgHeader } from "./frame.ts";
import { FileReceiver } from "./files.ts";
import type { ConnectorOptions, PeerEvent } from "./options.ts";
import { Inbound } from "./_inbound.ts";
import { Listeners } from "./_listeners.ts";
import { PeerLinks } from "./_peer_links.ts";
import { PeerTable } from "./_peer_table.ts";
import { PendingReplies } from "./_pending.ts";
import { TypeQueues } from "./type_queues.ts";
import { FakeClock } from "../async/mod.ts";

const ALICE: PeerIdentity = {
  address: "127.0.0.1",
  port: 5,
  tls: true,
  authorized: true,
  cn: "alice",
  fingerprint: "ab12",
};

/** A server connector's session plumbing (real journal, queues and received-id logs in a temp dir). */
async function server(
  options: {
    authorize?: (p: PeerIdentity) => string | undefined;
    /** Heartbeats (and held acknowledgements) on this clock. Default: no heartbeat, real time. */
    clock?: FakeClock;
  } = {},
) {
  const dir = await tempDir();
  const events: PeerEvent[] = [];
  const connector: ConnectorOptions = {
    name: "srv",
    dir: dir.path,
    server: {
      port: 0,
      tls: { cert: "", key: "" },
      ...(options.authorize ? { authorize: options.authorize } : {}),
    },
    heartbeatMs: options.clock ? 1000 : 0,
    onPeer: (e) => void events.push(e),
  };
  const queues = new TypeQueues(`${dir.path}/queues`, { fsync: false, maxTypes: 1 });
  const peers = new PeerTable({
    name: "srv",
    dir: `${dir.path}/journal`,
    journal: { fsync: false },
    serverName: undefined,
  });
  const listeners = new Listeners(queues, nullLogger);
  const inbound = new Inbound({
    log: nullLogger,
    listeners,
    pending: new PendingReplies(),
    files: new FileReceiver({}),
    seenDir: `${dir.path}/seen`,
    fsync: false,
    send: () => Promise.resolve(""),
  });
  const links = new PeerLinks({
    name: "srv",
    connector,
    log: nullLogger,
    maxFrameBytes: 1024 * 1024,
    peers,
    inbound,
    onFatal: () => {},
    clock: options.clock,
  });
  return {
    links,
    listeners,
    peers,
    queues,
    events,
    /** A client connection served by a new session. */
    connect(identity: PeerIdentity = ALICE) {
      const [client, srv] = memoryPair();
      const session = links.open(srv, identity);
      return { session, ...rawPeer(client) };
    },
    /** A client that sent hello and got the welcome. */
    async welcomed() {
      const c = this.connect();
      c.send(hello);
      await waitUntil(() => c.got.length === 1);
      return c;
    },
    async [Symbol.asyncDispose]() {
      for (const s of links.all) s.link.close();
      await Promise.all(links.all.map((s) => s.link.closed));
      await inbound.close();
      await queues.close();
      await Promise.all(peers.all().map((p) => p.journal.close()));
      await dir[Symbol.asyncDispose]();
    },
  };
}

/** The client end, without a session: sends frames, records the frames it gets and its close. */
function rawPeer(conn: Connection) {
  const got: Header[] = [];
  const framer = new LengthPrefixedFramer({ maxFrameBytes: 1024 * 1024 });
  conn.receive({ data: (c) => framer.push(c, (p) => void got.push(decodePayload(p).header)) });
  return {
    conn,
    got,
    send: (...headers: Header[]) => {
      for (const h of headers) {
        conn.send(encodeFrame(encodePayload(h, h.kind === "msg" ? "1" : "")));
      }
    },
  };
}

const hello: Header = { kind: "hello", name: "alice", v: 1 };
const msg = (id: string, extra: Partial<MsgHeader> = {}): MsgHeader => ({
  kind: "msg",
  type: "t",
  src: "alice",
  dst: "srv",
  id,
  enc: "json",
  ...extra,
});
const kinds = (got: Header[]) => got.map((h) => h.kind);

Deno.test("LinkSession refuses a hello it cannot prove", async (t) => {
  const cases: Array<[string, PeerIdentity, string, boolean, ((p: PeerIdentity) => string)?]> = [
    [
      "no client certificate",
      { ...ALICE, fingerprint: "" },
      "no client certificate presented",
      true,
    ],
    [
      "certificate of another name",
      { ...ALICE, cn: "mallory" },
      'certificate names "mallory" but the connector claims the name "alice"',
      true,
    ],
    [
      "revoked certificate",
      ALICE,
      'certificate of "alice" refused: revoked',
      true,
      () => "revoked",
    ],
    [
      "revocation list unreadable (not final)",
      ALICE,
      'certificate of "alice" refused: cannot check the list',
      false,
      () => "cannot check the list",
    ],
  ];
  for (const [name, identity, message, fatal, authorize] of cases) {
    await t.step(name, async () => {
      await using s = await server(authorize ? { authorize } : {});
      const c = s.connect(identity);
      c.send(hello);
      await c.conn.closed;
      assert.equal(c.got.length, 1);
      const err = c.got[0] as Extract<Header, { kind: "error" }>;
      assert.equal(err.kind, "error");
      assert.ok(err.message.startsWith(message), err.message);
      assert.equal(err.fatal, fatal);
      assert.equal(c.session.peer, undefined);
      assert.deepEqual(s.events, []);
    });
  }
});

Deno.test("LinkSession closes a link that sends a message before hello", async () => {
  await using s = await server();
  const c = s.connect();
  c.send(msg("m1", { ack: true }));
  await c.conn.closed;
  assert.deepEqual(c.got, []);
  assert.equal(s.queues.count("t"), 0);
});

Deno.test("LinkSession welcomes a proven client, stores its messages and acknowledges them", async () => {
  await using s = await server();
  const c = s.connect();
  c.send(hello);
  await waitUntil(() => c.got.length === 1);
  assert.deepEqual(c.got, [{ kind: "welcome", name: "srv", v: 1 }]);
  assert.equal(c.session.peer?.name, "alice");
  assert.equal(s.peers.get("alice").link, c.session.link);
  assert.deepEqual(s.events.map((e) => [e.peer, e.event, e.fingerprint]), [
    ["alice", "connected", "ab12"],
  ]);
  c.send(msg("m1", { ack: true }));
  await waitUntil(() => c.got.length === 2);
  assert.deepEqual(c.got[1], { kind: "acks", n: 1 });
  assert.equal(s.queues.count("t"), 1);
  c.send(msg("m1", { ack: true })); // a repeat (replay after reconnect) is acknowledged, not stored
  await waitUntil(() => c.got.length === 3);
  assert.deepEqual(c.got[2], { kind: "acks", n: 2 });
  assert.equal(s.queues.count("t"), 1);
});

Deno.test("LinkSession acknowledges messages a listener took together, a little later", async () => {
  await using s = await server();
  const taken: string[] = [];
  s.listeners.add(["t"], { deliver: (h) => void taken.push(h.id) });
  const c = await s.welcomed();
  c.send(msg("m1"));
  c.send(msg("m2"));
  c.send(msg("m3"));
  await waitUntil(() => c.got.length >= 2);
  await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(c.got.slice(1), [{ kind: "acks", n: 3 }], "one acknowledgement for all three");
  assert.deepEqual(taken, ["m1", "m2", "m3"]);
  assert.equal(s.queues.count("t"), 0);
});

Deno.test("LinkSession refuses a message it cannot store before acknowledging", async () => {
  await using s = await server(); // queues hold one message type at most
  const c = await s.welcomed();
  c.send(msg("m1"), msg("m2", { type: "other", ack: true }));
  await waitUntil(() => c.got.some((h) => h.kind === "acks" && h.n === 2));
  // m1 is acknowledged once on disk; the refusal of m2 goes out before the acknowledgement covering it.
  assert.deepEqual(kinds(c.got), ["welcome", "refused", "acks", "acks"]);
  const refused = c.got[1] as Extract<Header, { kind: "refused" }>;
  assert.equal(refused.n, 2);
  assert.equal(refused.id, "m2");
  assert.match(refused.message, /Cannot queue a message of type "other"/);
  assert.deepEqual(c.got.slice(2), [{ kind: "acks", n: 1 }, { kind: "acks", n: 2 }]);
  assert.equal(s.queues.count("t"), 1);
});

Deno.test("LinkSession closes a link whose message claims another sender", async () => {
  await using s = await server();
  const c = await s.welcomed();
  c.send(msg("m1", { src: "bob" }));
  await c.conn.closed;
  assert.deepEqual(kinds(c.got), ["welcome", "error"]);
  assert.match((c.got[1] as { message: string }).message, /claims the sender "bob".*"alice"/);
  assert.equal(s.queues.count("t"), 0);
  await waitUntil(() => s.events.length === 2);
  assert.deepEqual(s.events.map((e) => [e.event, e.reason]), [
    ["connected", undefined],
    ["disconnected", "forged sender"],
  ]);
  assert.equal(s.peers.get("alice").link, undefined);
});

Deno.test("LinkSession: a reconnected client replaces its old link", async () => {
  await using s = await server();
  const first = await s.welcomed();
  const second = s.connect();
  second.send(hello);
  await first.conn.closed;
  await waitUntil(() => second.got.length === 1);
  assert.deepEqual(kinds(second.got), ["welcome"]);
  assert.equal(s.peers.get("alice").link, second.session.link);
  assert.equal(second.session.link.open, true);
  assert.deepEqual(s.links.all, [second.session]);
});

Deno.test("LinkSession turns away a blocked peer", async () => {
  await using s = await server();
  s.peers.get("alice").blocked = true;
  const c = s.connect();
  c.send(hello);
  await c.conn.closed;
  assert.deepEqual(c.got, [{ kind: "error", message: 'peer "alice" is blocked on the server' }]);
  assert.equal(c.session.peer, undefined);
});

Deno.test("LinkSession drops a client silent for 3 heartbeats and attaches it again when it reconnects", async () => {
  const clock = new FakeClock();
  await using s = await server({ clock });
  const first = await s.welcomed();
  const beats = async (n: number) => {
    for (let i = 0; i < n; i++) {
      const pings = first.got.filter((h) => h.kind === "ping").length;
      clock.advance(1000);
      await waitUntil(() => first.got.filter((h) => h.kind === "ping").length > pings);
    }
  };
  await beats(2);
  first.send(msg("m1")); // any frame counts as life: the silence starts again here
  await waitUntil(() => s.peers.get("alice").stats.msgsIn === 1);
  await beats(3);
  assert.equal(first.session.link.open, true);
  assert.equal(first.got.filter((h) => h.kind === "ping").length, 5);
  // m1 asked for no acknowledgement: it was held back, then sent when the clock moved on
  assert.deepEqual(first.got.filter((h) => h.kind === "acks"), [{ kind: "acks", n: 1 }]);
  clock.advance(1000); // 4 intervals without a frame
  await first.conn.closed;
  await waitUntil(() => s.events.length === 2);
  assert.deepEqual(s.events.map((e) => [e.event, e.reason]), [
    ["connected", undefined],
    ["disconnected", "no frames for 4000 ms (heartbeat timeout)"],
  ]);
  assert.equal(s.peers.get("alice").online, false);

  const second = await s.welcomed();
  assert.equal(s.peers.get("alice").link, second.session.link);
  assert.deepEqual(s.events.map((e) => e.event), ["connected", "disconnected", "connected"]);
  second.send(msg("m2", { ack: true }));
  await waitUntil(() => second.got.length === 2);
  assert.deepEqual(second.got[1], { kind: "acks", n: 1 }, "the new link counts from 1");
  clock.advance(1000);
  await waitUntil(() => second.got.length === 3);
  assert.equal(second.got[2]!.kind, "ping", "heartbeats run on the new link");
});
