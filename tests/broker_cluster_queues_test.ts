/**
 * `broker serve --cluster` processes on a real `nats-server -js`: the server
 * connectors' per-type queues are the cluster's (in JetStream), and a server
 * connector's own app reaches clients connected to other servers.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { makePki, runCli, startNats, tempDir, waitUntil, withNats } from "./harness/mod.ts";
import { delay } from "../core/async/mod.ts";
import type { Message } from "../core/broker/mod.ts";
import { app, connected, freePort, startClient, stop } from "./broker_helpers.ts";
import { clusterServer } from "./_cluster/serve.ts";
import { aliceAndAwayCarol } from "./_cluster/away.ts";

withNats.test("broker cluster type queues: messages for the server of a type nobody listens to are stored in JetStream (acknowledged), survive the server they were sent to being killed, and reach a listener on another server in order, once; that listener holds the type's queue while a listener on a third server stands by, and the standby takes over when the holder's server is killed", async () => {
  await using nats = await startNats();
  await using pki = await makePki({ clients: ["alice", "bob"] });
  await using tmp = await tempDir("sockkit-cluster-queues-test-");
  const dir = (n: string) => join(tmp.path, n);
  const ports = { A: freePort(), B: freePort(), C: freePort() };
  const start = clusterServer(pki.dir, tmp.path, { urls: [nats.url], name: "tq" });
  const serve = (name: keyof typeof ports) => start(name, ports[name]);
  const a = await serve("A");
  const b = await serve("B");
  try {
    await using _c = await serve("C");
    await using alice = startClient(pki.dir, dir("alice"), "alice", ports.A);
    await using bob = startClient(pki.dir, dir("bob"), "bob", ports.C);
    await Promise.all([connected(alice), connected(bob)]);

    // No app listens to "job" anywhere: alice's messages to her server wait in the cluster.
    await using aliceApp = await app(dir("alice"));
    const jobs = Array.from({ length: 200 }, (_, i) => `job${i}`);
    for (let i = 0; i < jobs.length; i += 50) {
      await Promise.all(
        jobs.slice(i, i + 50).map((t) => aliceApp.send("", "job", t, { ack: true })),
      );
    }
    aliceApp.close();
    a.kill("SIGKILL");
    await a.status;

    // A listener on B gets every one of them, in order, once.
    await using atB = await app(dir("B"));
    const got: Message[] = [];
    await atB.listen("job", (m) => void got.push(m));
    await waitUntil(() => got.length >= jobs.length, {
      what: "the 200 jobs on B",
      timeoutMs: 30_000,
    });
    // A listener on C stands by: what bob sends through C still goes to B's, which holds the queue.
    await using atC = await app(dir("C"));
    const standby: Message[] = [];
    await atC.listen("job", (m) => void standby.push(m));
    await using bobApp = await app(dir("bob"));
    await bobApp.send("", "job", "from bob", { ack: true });
    await waitUntil(() => got.length > jobs.length, { what: "bob's job on B", timeoutMs: 20_000 });
    await delay(500); // a duplicate would arrive now
    assert.deepEqual(got.map((m) => m.data), [...jobs, "from bob"]);
    assert.ok(got.slice(0, jobs.length).every((m) => m.src === "alice"));
    assert.equal(got.at(-1)!.src, "bob");
    assert.equal(standby.length, 0);

    // B dies: C's listener takes the queue (once B's heartbeat expired) and gets what comes next.
    b.kill("SIGKILL");
    await b.status;
    await bobApp.send("", "job", "after B", { ack: true });
    await waitUntil(() => standby.length === 1, { what: "C to take over", timeoutMs: 30_000 });
    assert.equal(standby[0]!.data, "after B");
    assert.equal(got.length, jobs.length + 1);
    bobApp.close();
    atB.close();
    atC.close();
    assert.equal(await stop(bob), 0);
  } finally {
    for (const p of [a, b]) {
      p.kill("SIGKILL");
      await p.status;
    }
  }
});

withNats.test("broker cluster: a server connector's own app sends to a client connected to another server (acknowledged once stored, with the server's name as sender) and gets the answers to its requests", async () => {
  await using nats = await startNats();
  await using pki = await makePki({ clients: ["carol"] });
  await using tmp = await tempDir("sockkit-cluster-own-test-");
  const dir = (n: string) => join(tmp.path, n);
  const ports = { A: freePort(), B: freePort() };
  const start = clusterServer(pki.dir, tmp.path, { urls: [nats.url], name: "own" });
  const serve = (name: keyof typeof ports) => start(name, ports[name]);
  await using _a = await serve("A");
  await using _b = await serve("B");
  await using carol = startClient(pki.dir, dir("carol"), "carol", ports.B);
  await connected(carol);
  await using carolApp = await app(dir("carol"));
  const notes: Message[] = [];
  await carolApp.listen("note", (m) => void notes.push(m));
  await carolApp.listen("ping", (m) => {
    void carolApp.send(m.src, "pong", `pong ${m.data}`, { replyTo: m.id });
  });

  await using atA = await app(dir("A"));
  await waitUntil(
    () => atA.send("carol", "note", "from A", { ack: true }).then(() => true, () => false),
    { what: "A to know carol (connected to B)", timeoutMs: 20_000 },
  );
  await waitUntil(() => notes.length === 1, { what: "A's note at carol", timeoutMs: 20_000 });
  assert.equal(notes[0]!.src, "A");
  assert.equal(notes[0]!.data, "from A");
  const answer = await atA.request("carol", "ping", "1", { timeoutMs: 20_000 });
  assert.equal(answer.src, "carol");
  assert.equal(answer.data, "pong 1");
  carolApp.close();
  atA.close();
  assert.equal(await stop(carol), 0);
});

withNats.test("broker queues on a clustered server shows what waits in JetStream: per client mailbox and per type queue, the count and the oldest message's age", async () => {
  await using pair = await aliceAndAwayCarol("report");
  const { aliceApp, dir } = pair;
  for (const t of ["n1", "n2"]) await aliceApp.send("carol", "note", t, { ack: true });
  for (const t of ["j0", "j1"]) await aliceApp.send("", "job", t, { ack: true });
  await delay(1100); // the oldest is over a second old now

  // B, where carol was, and A alike: the cluster's streams are shared.
  for (const server of ["A", "B"]) {
    const r = await runCli(["broker", "queues", "--dir", dir(server), "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const q = JSON.parse(r.stdout) as {
      cluster: {
        mailboxes: Array<{ key: string; messages: number; oldestMs: number }>;
        types: Array<{ key: string; messages: number; oldestMs: number }>;
      };
    };
    assert.deepEqual(q.cluster.mailboxes.map((m) => [m.key, m.messages]), [["carol", 3]]);
    assert.deepEqual(q.cluster.types.map((t) => [t.key, t.messages]), [["job", 2]]);
    for (const row of [...q.cluster.mailboxes, ...q.cluster.types]) {
      assert.ok(row.oldestMs >= 1000 && row.oldestMs < 60_000, `oldest ${row.oldestMs} ms`);
    }
  }
  const table = await runCli(["broker", "queues", "--dir", dir("A")]);
  assert.equal(table.code, 0, table.stderr);
  assert.match(table.stdout, /QUEUE\s+MESSAGES\s+BYTES\s+OLDEST/);
  assert.match(table.stdout, /cluster mailbox of carol\s+3\s+\d+s/);
  assert.match(table.stdout, /cluster queue of type job\s+2\s+\d+s/);
});
