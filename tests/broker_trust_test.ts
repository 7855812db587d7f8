/**
 * The broker against hostile and failing peers: raw mutual-TLS clients with
 * valid certificates speaking crafted frames to a real server connector.
 */
import assert from "node:assert/strict";
import * as net from "node:net";
import { join } from "node:path";
import { type Connector, encodePayload, type Header, type Message } from "../core/broker/mod.ts";
import { startClientConnector, startServerConnector } from "../core/broker/service.ts";
import type { ServerConnectorOptions } from "../core/broker/service.ts";
import { connect } from "../core/net/mod.ts";
import { encodeFrame } from "../core/net/framing/mod.ts";
import { loadClientTls } from "../core/pki/mod.ts";
import { createLogger } from "../core/log/mod.ts";
import { makePki, tempDir, type TestPki, waitUntil } from "./harness/mod.ts";
import {
  app,
  connected,
  freePort,
  rawApp,
  RawPeer,
  startClient,
  startServer,
} from "./broker_helpers.ts";
import { delay } from "../core/async/mod.ts";

/** What {@linkcode localServer} gives: the server, its state directory and its log lines. */
interface LocalServer extends AsyncDisposable {
  pki: TestPki;
  sdir: string;
  lines: string[];
  connector: Connector;
}

/**
 * A server connector with alice's certificate, in a fresh state directory
 * (its local socket at `SDIR/broker.sock`), logging into `lines`; disposed
 * as `await using` would dispose the three.
 */
async function localServer(): Promise<LocalServer> {
  await using stack = new AsyncDisposableStack();
  const pki = stack.use(await makePki({ clients: ["alice"] }));
  const tmp = stack.use(await tempDir("sockkit-broker-trust-"));
  const sdir = join(tmp.path, "s");
  const lines: string[] = [];
  const connector = stack.use(await server(pki, sdir, {}, lines));
  const owned = stack.move();
  return { pki, sdir, lines, connector, [Symbol.asyncDispose]: () => owned.disposeAsync() };
}

async function server(
  pki: TestPki,
  dir: string,
  extra: Partial<ServerConnectorOptions> = {},
  lines: string[] = [],
): Promise<Connector> {
  return await startServerConnector(pki.dir, {
    name: "server",
    dir,
    host: "127.0.0.1",
    port: 0,
    logger: createLogger({ level: "debug", sink: (l) => lines.push(l) }),
    ...extra,
  });
}

Deno.test("broker trust: a peer cannot send as another sender, poison its duplicate filter or answer its requests", async () => {
  await using pki = await makePki({ clients: ["alice", "mallory"] });
  await using tmp = await tempDir("sockkit-broker-trust-");
  const lines: string[] = [];
  await using c = await server(pki, join(tmp.path, "s"), {}, lines);
  const got: Message[] = [];
  c.listen("order", (m) => void got.push(m));

  await using mallory = await RawPeer.connect(pki, c.port, "mallory");
  mallory.send({
    kind: "msg",
    type: "order",
    src: "alice",
    dst: "server",
    id: "order-0",
    enc: "text",
  }, "fake");
  const err = await mallory.next((h) => h.kind === "error");
  assert.match(
    (err.header as { message: string }).message,
    /claims the sender "alice" but this link belongs to "mallory": refused/,
  );
  await mallory.closed;
  assert.ok(
    lines.some((l) => /refused a message with a forged sender/.test(l) && /claimed=alice/.test(l)),
  );

  await using alice = await RawPeer.connect(pki, c.port, "alice");
  alice.msg("order-0", "order", "real 0");
  alice.msg("order-1", "order", "real 1");
  await waitUntil(() => alice.acked === 2, { what: "alice's acks" });
  assert.deepEqual(got.map((m) => [m.src, m.id, m.data]), [["alice", "order-0", "real 0"], [
    "alice",
    "order-1",
    "real 1",
  ]]);

  // A reply resolves a request only from the peer the request went to.
  await using mallory2 = await RawPeer.connect(pki, c.port, "mallory");
  const answer = c.request("alice", "q", "question", { timeoutMs: 20_000 });
  const req = await alice.next((h) => h.kind === "msg" && h.type === "q");
  const reqId = (req.header as { id: string }).id;
  mallory2.msg("m-answer", "q", "forged answer", { replyTo: reqId });
  await waitUntil(() => mallory2.acked === 1, { what: "mallory's message to be handled" });
  alice.msg("a-answer", "q", "real answer", { replyTo: reqId });
  const m = await answer;
  assert.equal(m.src, "alice");
  assert.equal(m.data, "real answer");
});

Deno.test("broker trust: a peer cannot make the server allocate per invented sender or type without bound", async () => {
  await using pki = await makePki({ clients: ["mallory"] });
  await using tmp = await tempDir("sockkit-broker-trust-");
  await using c = await server(pki, join(tmp.path, "s"), { maxQueueTypes: 10 });
  await using mallory = await RawPeer.connect(pki, c.port, "mallory");
  for (let i = 0; i < 50; i++) mallory.msg(`t${i}`, `type-${i}`, "x");
  await waitUntil(() => mallory.acked === 50, { what: "acks" });
  const refused = mallory.all("refused");
  assert.equal(refused.length, 40);
  assert.match(
    (refused[0]!.header as { message: string }).message,
    /Cannot queue a message of type "type-10": 10 message types are queued already/,
  );
  assert.equal(c.admin.queueSizes().types.length, 10);
  // a queue its listener drained frees its place for another type
  const taken: string[] = [];
  c.listen("type-0", (m) => void taken.push(m.data as string));
  await waitUntil(
    () => c.admin.queueSizes().types.find((t) => t.type === "type-0")?.messages === 0,
    {
      what: "type-0's queue to be drained",
    },
  );
  mallory.msg("t50", "type-50", "x");
  await waitUntil(() => mallory.acked === 51, { what: "the ack of type-50" });
  assert.equal(mallory.all("refused").length, 40);
  assert.deepEqual(taken, ["x"]);
  // invented senders are refused at the first frame: no window, no state for them
  mallory.send({ kind: "msg", type: "x", src: "sender-1", dst: "server", id: "1" });
  await mallory.closed;
  assert.deepEqual(c.admin.peers().map((p) => p.name), ["mallory"]);
});

Deno.test("broker trust: one peer sending messages of types nobody listens to takes at most 64 of the 256 queued-type places; another peer's message of a new type is still stored", async () => {
  await using pki = await makePki({ clients: ["alice", "mallory"] });
  await using tmp = await tempDir("sockkit-broker-trust-");
  await using c = await server(pki, join(tmp.path, "s"));
  await using mallory = await RawPeer.connect(pki, c.port, "mallory");
  for (let i = 0; i < 70; i++) mallory.msg(`t${i}`, `junk-${i}`, "x");
  // the acknowledgement counts every message handled, the refused ones too
  await waitUntil(() => mallory.acked === 70, { what: "mallory's 70 messages answered" });
  const refused = mallory.all("refused");
  assert.equal(refused.length, 6);
  assert.equal(c.admin.queueSizes().types.filter((t) => t.messages === 1).length, 64);
  assert.match(
    (refused[0]!.header as { message: string }).message,
    /Cannot queue a message of type "junk-64" from "mallory": messages of "mallory" started the queues of 64 message types that nobody has taken yet, the most one sender may \(64 of the 256 places;/,
  );
  await using alice = await RawPeer.connect(pki, c.port, "alice");
  alice.msg("a0", "orders", "order 1");
  await waitUntil(() => alice.acked === 1, { what: "alice's ack" });
  assert.deepEqual(alice.all("refused"), []);
  // once a listener drains one of mallory's types, mallory may start one more
  const taken: string[] = [];
  c.listen("junk-0", (m) => void taken.push(m.data as string));
  await waitUntil(() => taken.length === 1, { what: "junk-0 drained" });
  await waitUntil(
    () => c.admin.queueSizes().types.find((t) => t.type === "junk-0")?.messages === 0,
    { what: "junk-0's queue to be empty" },
  );
  mallory.msg("t70", "junk-70", "x");
  mallory.msg("t71", "junk-71", "x");
  await waitUntil(() => mallory.acked === 72 && mallory.all("refused").length === 7, {
    what: "junk-70 stored and junk-71 refused",
  });
  const sizes = new Map(c.admin.queueSizes().types.map((t) => [t.type, t.messages]));
  assert.equal(sizes.get("junk-70"), 1);
  assert.equal(sizes.get("junk-71") ?? 0, 0);
  assert.equal(sizes.get("orders"), 1);
});

Deno.test("broker trust: unfinished file transfers are bounded per peer and time out, removing their staging files", async () => {
  await using pki = await makePki({ clients: ["mallory"] });
  await using tmp = await tempDir("sockkit-broker-trust-");
  const files = join(tmp.path, "files");
  await using c = await server(pki, join(tmp.path, "s"), {
    fileDirs: { doc: files },
    fileStallMs: 500,
  });
  await using mallory = await RawPeer.connect(pki, c.port, "mallory");
  for (let i = 0; i < 20; i++) {
    mallory.send(
      {
        kind: "msg",
        type: "doc",
        src: "mallory",
        dst: "server",
        id: `f${i}.0`,
        file: { transfer: `f${i}`, name: `n${i}`, offset: 0, size: 100 },
      },
      "",
      new Uint8Array(10),
    );
  }
  await waitUntil(() => mallory.acked === 20, { what: "acks" });
  const answers = () =>
    mallory.all("msg").map((f) =>
      JSON.parse(new TextDecoder().decode(f.data)) as { ok: boolean; error: string }
    );
  await waitUntil(() => answers().length >= 16, { what: "refusals" });
  assert.ok(
    answers().slice(0, 16).every((a) =>
      /Too many file transfers from "mallory" at once: 4/.test(a.error)
    ),
  );
  const staging = () =>
    [...Deno.readDirSync(files)].filter((e) => e.name.startsWith(".sockkit-partial"));
  assert.equal(staging().length, 4);
  await waitUntil(() => answers().length === 20, { what: "stalled transfers to be abandoned" });
  assert.ok(
    answers().slice(16).every((a) => /transfer stalled: no chunk for 500 ms/.test(a.error)),
  );
  assert.equal(staging().length, 0);
});

Deno.test("broker trust: a message that cannot be stored is refused to its sender, never acknowledged", async () => {
  await using pki = await makePki({ clients: ["alice"] });
  await using tmp = await tempDir("sockkit-broker-trust-");
  await using c = await server(pki, join(tmp.path, "s"), { persistMaxBytes: 16 * 1024 });
  await using alice = await RawPeer.connect(pki, c.port, "alice");
  for (let i = 0; i < 500; i++) alice.msg(`m${i}`, "nobody-listens", "x".repeat(100));
  await waitUntil(() => alice.acked === 500, { what: "500 settled" });
  const refused = alice.all("refused").map((f) => (f.header as { id: string }).id);
  const stored = c.admin.queueSizes().types.find((t) => t.type === "nobody-listens")
    ?.messages as number;
  assert.ok(refused.length > 0, "some were refused");
  assert.equal(stored + refused.length, 500);
  assert.match(
    (alice.all("refused")[0]!.header as { message: string }).message,
    /Queue of type "nobody-listens" is full/,
  );
  // what was acknowledged without refusal is there, in order
  const got: string[] = [];
  c.listen("nobody-listens", (m) => void got.push(m.id));
  await waitUntil(() => got.length === stored, { what: "queued messages" });
  const refusedSet = new Set(refused);
  assert.deepEqual(
    got,
    Array.from({ length: 500 }, (_, i) => `m${i}`).filter((id) => !refusedSet.has(id)),
  );
});

Deno.test("broker trust: an app's acknowledged send the peer cannot store fails through the local API", async () => {
  await using pki = await makePki({ clients: ["alice"] });
  await using tmp = await tempDir("sockkit-broker-trust-");
  await using c = await server(pki, join(tmp.path, "s"), { persistMaxBytes: 4096 });
  const cdir = join(tmp.path, "alice");
  await using alice = await startClientConnector(pki.dir, {
    name: "alice",
    dir: cdir,
    server: { host: "127.0.0.1", port: c.port },
  });
  await waitUntil(() => c.admin.peers().some((p) => p.connected), { what: "alice to connect" });
  await using a = await app(cdir);
  const results = await Promise.allSettled(
    Array.from(
      { length: 60 },
      (_, i) => a.send("server", "full", "x".repeat(100), { ack: true, id: `k${i}` }),
    ),
  );
  const failed = results.filter((r) => r.status === "rejected") as PromiseRejectedResult[];
  const stored = c.admin.queueSizes().types.find((t) => t.type === "full")?.messages as number;
  assert.ok(failed.length > 0);
  assert.equal(stored + failed.length, 60);
  assert.match(
    String(failed[0]!.reason),
    /Peer "server" refused the message: Queue of type "full" is full/,
  );
  void alice;
});

Deno.test("broker trust: a queued backlog stays queued when a listener attaches and leaves without confirming", async () => {
  await using srv = await localServer();
  const { pki, sdir, connector: c } = srv;
  await using alice = await RawPeer.connect(pki, c.port, "alice");
  for (let i = 0; i < 2000; i++) alice.msg(`b${i}`, "backlog", `item ${i}`);
  await waitUntil(() => alice.acked === 2000, { what: "2000 queued" });
  const queued = () => c.admin.queueSizes().types.find((t) => t.type === "backlog")?.messages;
  assert.equal(queued(), 2000);

  // a listener that attaches and goes away without reading
  const raw = net.connect(join(sdir, "broker.sock"));
  await new Promise((r) => raw.once("connect", r));
  raw.write(encodeFrame(encodePayload({ kind: "listen", types: ["backlog"], confirm: true })));
  await delay(300);
  raw.destroy();
  await delay(300);
  assert.equal(queued(), 2000);

  // a confirming listener gets all of them, in order, and then they leave the queue
  await using a = await app(sdir);
  const got: string[] = [];
  await a.listen("backlog", (m) => void got.push(m.id));
  await waitUntil(() => got.length === 2000, { what: "the backlog" });
  assert.deepEqual(got, Array.from({ length: 2000 }, (_, i) => `b${i}`));
  await waitUntil(() => queued() === 0, { what: "the queue to empty" });
});

Deno.test("broker trust: a message replayed after the receiver restarts is delivered once", async () => {
  await using pki = await makePki({ clients: ["alice"] });
  await using tmp = await tempDir("sockkit-broker-trust-");
  const sdir = join(tmp.path, "s");
  const got: string[] = [];
  {
    await using c = await server(pki, sdir);
    c.listen("once", (m) => void got.push(m.id));
    await using alice = await RawPeer.connect(pki, c.port, "alice");
    for (let i = 0; i < 10; i++) alice.msg(`o${i}`, "once", "x");
    await waitUntil(() => alice.acked === 10, { what: "acks" });
  }
  await using c = await server(pki, sdir);
  c.listen("once", (m) => void got.push(m.id));
  await using alice = await RawPeer.connect(pki, c.port, "alice");
  // as after a lost acknowledgement: o5..o9 again, then new ones
  for (let i = 5; i < 15; i++) alice.msg(`o${i}`, "once", "x");
  await waitUntil(() => alice.acked === 10, { what: "acks" });
  assert.deepEqual(got, Array.from({ length: 15 }, (_, i) => `o${i}`));
});

Deno.test("broker trust: the server exits promptly on SIGTERM with a big journal and hostile connections open", async () => {
  await using pki = await makePki({ clients: ["alice"] });
  await using tmp = await tempDir("sockkit-broker-trust-");
  const sdir = join(tmp.path, "s");
  const port = freePort();
  await using srv = await startServer(pki.dir, sdir, port);
  {
    await using _first = await RawPeer.connect(pki, port, "alice");
  }
  {
    await using a = await app(sdir);
    const blob = "x".repeat(1000);
    for (let i = 0; i < 20_000; i++) await a.send("alice", "big", blob);
    await a.sync();
  }
  // alice comes back and stops reading while the journal is replayed to her
  await using stuck = await RawPeer.connect(pki, port, "alice");
  stuck.pause();
  // a TLS connection that never says hello (a TCP connection that never starts TLS is
  // core/net's handshake timeout, outside the broker)
  const tls = await loadClientTls({ ca: pki.paths.ca, ...pki.client("alice") });
  const silent = await connect({
    host: "127.0.0.1",
    port,
    tls: { ...tls, servername: "localhost" },
  });
  await delay(500);
  const t0 = Date.now();
  srv.kill("SIGTERM");
  const status = await srv.status;
  const ms = Date.now() - t0;
  silent.destroy();
  assert.equal(status.code, 0);
  assert.ok(ms < 5_000, `exited after ${ms} ms`);
  assert.match(srv.stderrText(), /stopped/);
});

Deno.test("broker trust: a server app that does not wait for a congested client is refused past the held-messages cap, with the reason", async () => {
  await using pki = await makePki({ clients: ["alice"] });
  await using tmp = await tempDir("sockkit-broker-trust-");
  await using c = await server(pki, join(tmp.path, "s"), {
    priorities: { urgent: 5 },
    maxFrameBytes: 1024 * 1024, // the cap is then 64 MiB
  });
  await using alice = await RawPeer.connect(pki, c.port, "alice");
  alice.pause();
  const blob = new Uint8Array(512 * 1024);
  const accepted: Promise<string>[] = [];
  let refused: Error | undefined;
  // Before: every send was held in the server's memory, however many there were.
  for (let i = 0; i < 400 && refused === undefined; i++) {
    const p = c.send("alice", "urgent", "", { binary: blob, id: `u${i}` });
    const r = await Promise.race([p.then(() => undefined, (e: Error) => e), delay(0)]);
    if (r instanceof Error) refused = r;
    else accepted.push(p);
  }
  assert.ok(refused, "a send is refused before 400 messages of 512 KiB (200 MiB) are held");
  assert.match(
    refused.message,
    /^Cannot queue a message of type "urgent" for peer "alice": \d+ messages \(\d+ KiB\) wait for its congested link already, and this one would go over the 65536 KiB cap; the message was not queued \(wait for each send to resolve, or for drained\(\), before sending more\)$/,
  );
  // 128 of 512 KiB held (64 MiB), plus the few that went onto the link before it congested
  assert.ok(
    accepted.length >= 128 && accepted.length < 200,
    `${accepted.length} accepted before the refusal`,
  );
  // the accepted ones are not failed: they wait for alice's link, and are journaled when it goes
  const settled = await Promise.race([Promise.allSettled(accepted), delay(100)]);
  assert.equal(settled, undefined, "accepted sends still wait for the congested link");
});

Deno.test("broker trust: an app on the local socket may listen to at most 256 types; past that its listen is refused with an error and a warning", async () => {
  await using srv = await localServer();
  const { pki, sdir, lines, connector: c } = srv;
  await using a = await app(sdir);
  const got: string[] = [];
  for (let i = 0; i < 256; i++) await a.listen(`t${i}`, (m) => void got.push(m.id));
  await assert.rejects(a.listen("t256", () => {}), {
    name: "BrokerError",
    message:
      "Listen refused: one app connection may listen to at most 256 message types; this one listens to 256 and asked for 1 more (listen to fewer types, or from another connection)",
  });
  await waitUntil(() => lines.some((l) => /WARN.*local API listen refused/.test(l)), {
    what: "the warning",
  });
  // one frame with a long list is refused whole, and answered by its id
  const answer = await (async () => {
    using raw = await rawApp(join(sdir, "broker.sock"));
    const types = Array.from({ length: 300 }, (_, i) => `r${i}`);
    raw.write({ kind: "listen", id: "many", types, confirm: true });
    return await waitUntil(() => raw.answers[0], { what: "the answer" });
  })();
  assert.deepEqual(answer, {
    kind: "error",
    replyTo: "many",
    message:
      "Listen refused: one app connection may listen to at most 256 message types; this one listens to 0 and asked for 300 more (listen to fewer types, or from another connection)",
  });
  // the refused app still gets the types it listened to before
  await using alice = await RawPeer.connect(pki, c.port, "alice");
  alice.msg("m1", "t255", "hi");
  await waitUntil(() => got.length === 1, { what: "the message" });
  assert.deepEqual(got, ["m1"]);
});

Deno.test("broker trust: an app on the local socket may hold at most 256 listens, even of one type; the next is refused with an error", async () => {
  await using srv = await localServer();
  const { sdir, lines } = srv;
  using raw = await rawApp(join(sdir, "broker.sock"));
  // one type, a tag per listen: one type listened to, but a sink held per listen
  for (let i = 0; i <= 256; i++) {
    raw.write({ kind: "listen", id: `l${i}`, types: ["chat"], tag: `g${i}` });
  }
  await waitUntil(() => raw.answers.length === 257, { what: "the 257 answers" });
  assert.equal(raw.answers.filter((a) => a.kind === "result").length, 256);
  assert.deepEqual(raw.answers[256], {
    kind: "error",
    replyTo: "l256",
    message:
      "Listen refused: one app connection may hold at most 256 listens, and this one holds 256 (listen to several types in one listen, or from another connection)",
  });
  await waitUntil(() => lines.some((l) => /WARN.*local API listen refused/.test(l)), {
    what: "the warning",
  });
});

Deno.test("broker trust: an app repeating a refused listen gets every error, and the log 10 lines per 10 s", async () => {
  await using srv = await localServer();
  const { sdir, lines } = srv;
  using raw = await rawApp(join(sdir, "broker.sock"));
  const types = Array.from({ length: 300 }, (_, i) => `t${i}`);
  for (let i = 0; i < 40; i++) raw.write({ kind: "listen", id: `l${i}`, types });
  await waitUntil(() => raw.answers.length === 40, { what: "the 40 answers" });
  assert.ok(raw.answers.every((a) => a.kind === "error"), JSON.stringify(raw.answers[0]));
  // Before: one warning per refused frame, 40 lines from one app.
  assert.equal(lines.filter((l) => /WARN.*local API listen refused/.test(l)).length, 10);
  // The app goes away: the 30 left out are told (before: never, with no further refusal).
  raw[Symbol.dispose]();
  await waitUntil(
    () => lines.some((l) => /WARN.*local API listen refused.*not_logged=30\b/.test(l)),
    {
      what: "the listen refused line with not_logged=30",
    },
  );
});

Deno.test("broker trust: a message id over 256 bytes closes the link with the reason; 256 bytes and other peers go on", async () => {
  await using pki = await makePki({ clients: ["alice", "mallory"] });
  await using tmp = await tempDir("sockkit-broker-trust-");
  const lines: string[] = [];
  await using c = await server(pki, join(tmp.path, "s"), {}, lines);
  const got: Message[] = [];
  c.listen("x", (m) => void got.push(m));
  await using mallory = await RawPeer.connect(pki, c.port, "mallory");
  mallory.msg("é".repeat(128), "x", "256 bytes"); // 128 two-byte characters
  await waitUntil(() => mallory.acked === 1, { what: "the 256-byte id acknowledged" });
  mallory.msg("y".repeat(300), "x", "300 bytes");
  const err = await mallory.next((h) => h.kind === "error");
  assert.equal(
    (err.header as { message: string }).message,
    'Message field "id" too long: 300 bytes (UTF-8) exceeds the 256 byte limit (the receiver remembers ids per sender; use a shorter one)',
  );
  await mallory.closed;
  assert.ok(lines.some((l) => /refused a message with a too long id/.test(l) && /mallory/.test(l)));
  await using alice = await RawPeer.connect(pki, c.port, "alice");
  alice.msg("a1", "x", "from alice");
  await waitUntil(() => alice.acked === 1, { what: "alice's ack" });
  assert.deepEqual(got.map((m) => m.data), ["256 bytes", "from alice"]);
});

Deno.test("broker trust: an app's message whose id is not a string is refused with an error, not journaled, and the link to the peer goes on", async () => {
  await using srv = await localServer();
  const { pki, sdir, connector: c, lines } = srv;
  await using alice = await RawPeer.connect(pki, c.port, "alice");
  using raw = await rawApp(join(sdir, "broker.sock"));
  for (const id of [7, true, { a: 1 }]) {
    raw.write({ kind: "msg", type: "echo", dst: "alice", id, ack: true } as unknown as Header);
  }
  await waitUntil(() => raw.answers.length === 3, { what: "three answers" });
  // before: stored in alice's journal and sent; alice refused it as malformed and closed the
  // link, and each reconnect replayed it (the link never stayed up, across restarts too)
  for (const [i, got] of ["number", "boolean", "object"].entries()) {
    assert.equal(raw.answers[i]!.kind, "error");
    assert.match(
      (raw.answers[i] as { message: string }).message,
      new RegExp(`Message field "id" must be a string, got ${got} \\(leave "id" out`),
    );
  }
  raw.write({ kind: "msg", type: "echo", dst: "alice", id: "fine", ack: true } as Header);
  await alice.next((h) => h.kind === "msg" && h.id === "fine");
  assert.deepEqual(alice.all("msg").map((f) => (f.header as { id: string }).id), ["fine"]);
  assert.ok(!lines.some((l) => /peer disconnected/.test(l)), lines.join("\n"));
});

Deno.test("broker trust: refused file chunks are logged 10 per 10 s, whatever their number", async () => {
  await using pki = await makePki({ clients: ["mallory"] });
  await using tmp = await tempDir("sockkit-broker-trust-");
  const lines: string[] = [];
  await using c = await server(pki, join(tmp.path, "s"), {}, lines);
  await using mallory = await RawPeer.connect(pki, c.port, "mallory");
  for (let i = 0; i < 300; i++) {
    mallory.send(
      {
        kind: "msg",
        type: "doc",
        src: "mallory",
        dst: "server",
        id: `f${i}`,
        file: { transfer: `T${i}`, name: "n", offset: 0, size: 100 },
      },
      "",
      new Uint8Array(1),
    );
  }
  await waitUntil(() => mallory.acked === 300, { what: "acks" });
  await waitUntil(() => mallory.all("msg").length === 300, { what: "300 refusals answered" });
  const logged = lines.filter((l) => /file refused/.test(l));
  assert.equal(logged.length, 10, logged.join("\n"));
  assert.match(logged[0]!, /No directory is mapped for file type/);
});

Deno.test("broker trust: a subscriber that stays connected but never reads is cut off after 5 s; the publisher and the other subscribers go on, and it gets its copies from its journal", async () => {
  await using pki = await makePki({ clients: ["alice", "bob", "mallory"] });
  await using tmp = await tempDir("sockkit-broker-trust-");
  const dir = (n: string) => join(tmp.path, n);
  const lines: string[] = [];
  await using c = await server(pki, dir("s"), {}, lines);
  await using alice = startClient(pki.dir, dir("alice"), "alice", c.port);
  await using bob = startClient(pki.dir, dir("bob"), "bob", c.port);
  await Promise.all([connected(alice), connected(bob)]);
  await using aliceApp = await app(dir("alice"));
  await using bobApp = await app(dir("bob"));
  await bobApp.subscribe(["news"]);
  const atBob: string[] = [];
  await bobApp.listen("news", (m) => void atBob.push(String(m.data).slice(0, 7)));
  const chats: string[] = [];
  await bobApp.listen("chat", (m) => void chats.push(String(m.data)));

  // mallory subscribes, then stops reading but keeps its link alive with pings
  {
    await using mallory = await RawPeer.connect(pki, c.port, "mallory");
    mallory.msg("s1", "sockkit.subscribe", JSON.stringify({ types: ["news"] }), {
      timeout: 10_000,
    });
    await mallory.next((h) => h.kind === "msg" && h.type === "sockkit.subscribe");
    mallory.pause();
    let i = 0;
    const pings = setInterval(() => mallory.send({ kind: "ping", id: `p${i++}`, t: 0 }), 500);
    try {
      const blob = (i: number) => `n${String(i).padStart(6, "0")}` + "x".repeat(1024 * 1024);
      // Before: after a few of these the server stopped reading alice's link for as long as
      // mallory stayed connected, and bob got nothing more.
      for (let i = 0; i < 12; i++) await aliceApp.publish("news", blob(i));
      const late = (what: string) =>
        delay(30_000).then(() => Promise.reject(new Error(`${what} still waits after 30 s`)));
      await Promise.race([aliceApp.publish("news", blob(12), { ack: true }), late("publish")]);
      await Promise.race([aliceApp.send("bob", "chat", "hello-bob", { ack: true }), late("send")]);
      await waitUntil(() => atBob.length === 13 && chats.length === 1, {
        what: "bob's messages",
        timeoutMs: 30_000,
      });
      assert.deepEqual(
        atBob,
        Array.from({ length: 13 }, (_, i) => `n${String(i).padStart(6, "0")}`),
      );
      await mallory.closed;
    } finally {
      clearInterval(pings);
    }
  }
  const cut = lines.find((l) => l.includes("closed the link of a peer that does not read"));
  assert.ok(cut, "the server says it closed mallory's link");
  assert.match(cut, /peer=mallory unacked=\d+ unsentBytes=\d+ ms=5000/);
  assert.ok(
    lines.some((l) =>
      /peer disconnected .*peer=mallory reason=".*is not reading: its link took under 64 KiB in 5000 ms/
        .test(l)
    ),
    lines.join("\n"),
  );

  // mallory comes back and reads: every copy was kept in its journal
  await using back = await RawPeer.connect(pki, c.port, "mallory");
  const news = () =>
    back.all("msg").filter((f) => f.header.kind === "msg" && f.header.type === "news");
  await waitUntil(() => news().length >= 13, { what: "mallory's journal", timeoutMs: 30_000 });
  const ids = new Set(
    news().map((f) => /n\d{6}/.exec(new TextDecoder().decode(f.data.subarray(0, 16)))?.[0]),
  );
  assert.deepEqual(
    [...ids].sort(),
    Array.from({ length: 13 }, (_, i) => `n${String(i).padStart(6, "0")}`),
  );
});
