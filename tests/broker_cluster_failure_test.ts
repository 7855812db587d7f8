/**
 * `broker serve --cluster` processes when things go wrong: a client that
 * stops reading, a NATS node of a three-node NATS cluster killed, and the
 * whole nats-server stopped and started again.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { connect } from "nats";
import {
  makePki,
  runCli,
  startNats,
  startNatsCluster,
  tempDir,
  waitUntil,
  withNats,
} from "./harness/mod.ts";
import type { CliProcess } from "./harness/mod.ts";
import { delay } from "../core/async/mod.ts";
import type { BrokerClient, Message } from "../core/broker/mod.ts";
import { clusterNames, token } from "../core/broker/cluster/mod.ts";
import { app, connected, freePort, startClient, stop } from "./broker_helpers.ts";
import { clusterServer } from "./_cluster/serve.ts";
import { aliceAndAwayCarol } from "./_cluster/away.ts";

/** Sends `texts` from `from` to `to` in batches of 100, each acknowledged. */
async function sendAll(from: BrokerClient, to: string, texts: string[]): Promise<void> {
  for (let i = 0; i < texts.length; i += 100) {
    await Promise.all(texts.slice(i, i + 100).map((t) => from.send(to, "note", t, { ack: true })));
  }
}

withNats.test("broker cluster bounds: a client that stops reading holds at most 64 of its messages on its server; the rest wait in JetStream and all arrive, in order, once it reads again", async () => {
  await using nats = await startNats();
  await using pki = await makePki({ clients: ["alice", "carol"] });
  await using tmp = await tempDir("sockkit-cluster-bounds-test-");
  const dir = (n: string) => join(tmp.path, n);
  const slow = ["--heartbeat", "60s"]; // a stopped client must not be dropped as silent here
  const serve = clusterServer(pki.dir, tmp.path, { urls: [nats.url], name: "bounds", extra: slow });
  const ports = { A: freePort(), B: freePort() };
  await using _a = await serve("A", ports.A);
  await using _b = await serve("B", ports.B);
  await using alice = startClient(pki.dir, dir("alice"), "alice", ports.A);
  const carol: CliProcess = startClient(pki.dir, dir("carol"), "carol", ports.B, slow);
  try {
    await Promise.all([connected(alice), connected(carol)]);
    await using carolApp = await app(dir("carol"));
    const got: Message[] = [];
    await carolApp.listen("note", (m) => void got.push(m));
    await using aliceApp = await app(dir("alice"));
    await aliceApp.send("carol", "note", "first", { ack: true });
    await waitUntil(() => got.length === 1, { what: "the first note", timeoutMs: 20_000 });

    // carol's connector stops (reads nothing, acknowledges nothing); 2,000 messages are sent to her.
    carol.kill("SIGSTOP");
    const texts = Array.from({ length: 2000 }, (_, i) => `n${i}`);
    await sendAll(aliceApp, "carol", texts);
    const nc = await connect({ servers: nats.url });
    try {
      const jsm = await nc.jetstreamManager();
      const info = () => jsm.consumers.info(clusterNames("bounds").mailboxStream, token("carol"));
      await waitUntil(async () => (await info()).num_ack_pending > 0, {
        what: "B to hand carol what her link takes",
      });
      await delay(1000); // more would be handed out now if nothing held it back
      const held = await info();
      assert.ok(held.num_ack_pending <= 64, `B holds ${held.num_ack_pending} messages for carol`);
      assert.ok(held.num_pending >= 2000 - 64, `only ${held.num_pending} wait in JetStream`);
    } finally {
      await nc.close();
    }
    carol.kill("SIGCONT");
    await waitUntil(() => got.length >= 2001, { what: "the 2,000 notes", timeoutMs: 60_000 });
    await delay(500); // a duplicate would arrive now
    assert.deepEqual(got.map((m) => m.data), ["first", ...texts]);
    carolApp.close();
  } finally {
    carol.kill("SIGCONT");
    assert.equal(await stop(carol), 0);
  }
});

withNats.test("broker cluster --cluster-replicas 3 on a three-node NATS cluster: messages for an away client are still delivered, in order, once, after the NATS node of its servers is killed", async () => {
  await using natsCluster = await startNatsCluster(3);
  await using pki = await makePki({ clients: ["alice", "carol"] });
  await using tmp = await tempDir("sockkit-cluster-r3-test-");
  const dir = (n: string) => join(tmp.path, n);
  const [first, ...others] = natsCluster.nodes;
  // Both servers start on node 0 and know the others, to fail over to.
  const urls = [first!.url, ...others.map((n) => n.url)];
  const serve = clusterServer(pki.dir, tmp.path, {
    urls,
    name: "r3",
    extra: ["--cluster-replicas", "3"],
  });
  const ports = { A: freePort(), B: freePort() };
  await using _a = await serve("A", ports.A);
  await using _b = await serve("B", ports.B);
  await using alice = startClient(pki.dir, dir("alice"), "alice", ports.A);
  let carol = startClient(pki.dir, dir("carol"), "carol", ports.B);
  await Promise.all([connected(alice), connected(carol)]);
  assert.equal(await stop(carol), 0);

  await using aliceApp = await app(dir("alice"));
  const before = Array.from({ length: 300 }, (_, i) => `b${i}`);
  await waitUntil(
    () => aliceApp.send("carol", "note", "hello", { ack: true }).then(() => true, () => false),
    { what: "B to have registered carol in the cluster", timeoutMs: 20_000 },
  );
  await sendAll(aliceApp, "carol", before);
  const nc = await connect({ servers: urls });
  try {
    const info = await (await nc.jetstreamManager()).streams.info(clusterNames("r3").mailboxStream);
    assert.equal(info.config.num_replicas, 3);
  } finally {
    await nc.close();
  }

  await first!.stop();
  // Stored on the two nodes left (a quorum of three): sends go on once the servers have moved there.
  const after = Array.from({ length: 10 }, (_, i) => `a${i}`);
  for (const t of after) {
    await waitUntil(
      () => aliceApp.send("carol", "note", t, { ack: true }).then(() => true, () => false),
      { what: `"${t}" to be stored without NATS node 0`, timeoutMs: 30_000 },
    );
  }
  carol = startClient(pki.dir, dir("carol"), "carol", ports.B);
  try {
    await connected(carol);
    await using carolApp = await app(dir("carol"));
    const got: Message[] = [];
    await carolApp.listen("note", (m) => void got.push(m));
    const all = ["hello", ...before, ...after];
    await waitUntil(() => got.length >= all.length, { what: "every note", timeoutMs: 60_000 });
    await delay(500); // a duplicate would arrive now
    assert.deepEqual(got.map((m) => m.data), all);
    carolApp.close();
  } finally {
    assert.equal(await stop(carol), 0);
  }
});

withNats.test("broker cluster NATS outage: client links stay up and clients on one server still reach each other; a send to a client on another server fails within seconds with a clear error; a client connecting meanwhile is refused and retries; when nats-server is back, presence and forwarding recover", async () => {
  await using nats = await startNats();
  await using pki = await makePki({ clients: ["alice", "bob", "carol", "dave"] });
  await using tmp = await tempDir("sockkit-cluster-outage-test-");
  const dir = (n: string) => join(tmp.path, n);
  const serve = clusterServer(pki.dir, tmp.path, { urls: [nats.url], name: "outage" });
  const ports = { A: freePort(), B: freePort() };
  await using a = await serve("A", ports.A);
  await using _b = await serve("B", ports.B);
  await using alice = startClient(pki.dir, dir("alice"), "alice", ports.A);
  await using bob = startClient(pki.dir, dir("bob"), "bob", ports.A);
  await using carol = startClient(pki.dir, dir("carol"), "carol", ports.B);
  await Promise.all([connected(alice), connected(bob), connected(carol)]);
  await using aliceApp = await app(dir("alice"));
  await using bobApp = await app(dir("bob"));
  await using carolApp = await app(dir("carol"));
  const atBob: Message[] = [];
  const atCarol: Message[] = [];
  await bobApp.listen("note", (m) => void atBob.push(m));
  await carolApp.listen("note", (m) => void atCarol.push(m));
  await aliceApp.send("carol", "note", "before", { ack: true });

  await nats.stop();
  await a.waitForLine(/cluster NATS connection lost/, 20_000);
  await aliceApp.send("bob", "note", "during", { ack: true }); // same server: no NATS needed
  await assert.rejects(
    aliceApp.send("carol", "note", "lost?", { ack: true }),
    /Cannot store message .* for client connector "carol" in the cluster: no answer from JetStream within 5 s: the cluster's nats-server is unreachable/,
  );

  await using dave = startClient(pki.dir, dir("dave"), "dave", ports.A);
  await dave.waitForLine(/the cluster's nats-server does not answer/, 30_000);

  await nats.restart();
  await a.waitForLine(/cluster NATS connection back/, 30_000);
  await connected(dave); // it kept retrying
  await waitUntil(
    () => aliceApp.send("carol", "note", "after", { ack: true }).then(() => true, () => false),
    { what: "forwarding to carol to work again", timeoutMs: 30_000 },
  );
  await waitUntil(() => atCarol.length === 2, { what: "carol's notes", timeoutMs: 20_000 });
  assert.deepEqual(atCarol.map((m) => m.data), ["before", "after"]);
  assert.deepEqual(atBob.map((m) => m.data), ["during"]);
  // Every server lists every client where it is again (no link was dropped).
  await waitUntil(async () => {
    const r = await runCli(["broker", "peers", "--dir", dir("B"), "--json"]);
    const at = Object.fromEntries(
      (JSON.parse(r.stdout) as Array<{ name: string; server: string }>).map((
        p,
      ) => [p.name, p.server]),
    );
    return at.alice === "A" && at.bob === "A" && at.carol === "B";
  }, { what: "B to list alice and bob on A again", timeoutMs: 20_000 });
  for (const c of [alice, bob, carol]) {
    assert.equal(c.stderrText().match(/connected to server/g)?.length, 1, c.stderrText());
  }
  for (const x of [aliceApp, bobApp, carolApp]) x.close();
});

withNats.test("broker cluster --persist-max caps the JetStream mailbox stream: once full, a send is refused with an error naming the cap (never acknowledged); what was acknowledged reaches the client, in order, once it is back", async () => {
  await using pair = await aliceAndAwayCarol("cap", ["--persist-max", "32KiB"]);
  const { aliceApp } = pair;
  const acked = ["n0"];
  let refusal: Error | undefined;
  for (let i = 1; i < 100 && !refusal; i++) {
    const text = `n${i} ${"x".repeat(1000)}`;
    await aliceApp.send("carol", "note", text, { ack: true }).then(
      () => void acked.push(text),
      (err) => void (refusal = err),
    );
  }
  assert.ok(refusal, "no send was refused");
  assert.match(
    refusal.message,
    /Cannot store message .* for client connector "carol" in the cluster: the cluster's stream "sockkit_cap_mailbox" is full \(its cap, --persist-max, is 32768 bytes\).*; the message was not stored/,
  );
  assert.ok(acked.length > 10 && acked.length < 40, `${acked.length} acknowledged`);

  const carol = await pair.carolBack();
  try {
    await using carolApp = await app(pair.dir("carol"));
    const got: Message[] = [];
    await carolApp.listen("note", (m) => void got.push(m));
    await waitUntil(() => got.length >= acked.length, { what: "the acknowledged notes" });
    await delay(500); // a refused one would arrive now
    assert.deepEqual(got.map((m) => m.data), acked);
    // Read: there is room again.
    await aliceApp.send("carol", "note", "after", { ack: true });
    await waitUntil(() => got.length === acked.length + 1, { what: "the note sent after" });
    carolApp.close();
  } finally {
    assert.equal(await stop(carol), 0);
  }
});
