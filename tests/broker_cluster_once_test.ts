/**
 * `broker serve --cluster` processes killed (SIGKILL) with messages in
 * flight: a type queue's standby goes on right after what the holder
 * recorded as taken; a client whose mailbox server dies fails over and its
 * app gets every message once.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { connect } from "nats";
import {
  type CliProcess,
  makePki,
  startNats,
  tempDir,
  waitUntil,
  withNats,
} from "./harness/mod.ts";
import { delay } from "../core/async/mod.ts";
import type { BrokerClient, Message } from "../core/broker/mod.ts";
import { clusterNames, type ClusterPeer, token } from "../core/broker/cluster/mod.ts";
import { app, connected, freePort, rawApp, startClient } from "./broker_helpers.ts";
import { clusterServer } from "./_cluster/serve.ts";

/** Servers A, B and C of cluster `name` with alice connected to A (see {@linkcode threeServers}). */
interface ThreeServers extends AsyncDisposable {
  natsUrl: string;
  certs: string;
  ports: { A: number; B: number; C: number };
  /** The state directory of connector `n`. */
  dir(n: string): string;
  /** Server B, for the test to kill (killed on dispose if still running). */
  b: CliProcess;
  c: CliProcess;
  aliceApp: BrokerClient;
}

/** Starts nats-server, servers A, B and C of cluster `name`, and alice on A with her app. */
async function threeServers(name: string, clients: string[]): Promise<ThreeServers> {
  await using stack = new AsyncDisposableStack();
  const nats = stack.use(await startNats());
  const pki = stack.use(await makePki({ clients: ["alice", ...clients] }));
  const tmp = stack.use(await tempDir(`sockkit-cluster-${name}-test-`));
  const dir = (n: string) => join(tmp.path, n);
  const ports = { A: freePort(), B: freePort(), C: freePort() };
  const start = clusterServer(pki.dir, tmp.path, { urls: [nats.url], name });
  stack.use(await start("A", ports.A));
  const b = await start("B", ports.B);
  stack.defer(async () => {
    b.kill("SIGKILL");
    await b.status.catch(() => {});
  });
  const c = stack.use(await start("C", ports.C));
  const alice = stack.use(startClient(pki.dir, dir("alice"), "alice", ports.A));
  await connected(alice);
  const aliceApp = await app(dir("alice"));
  stack.defer(() => aliceApp.close());
  const rest = stack.move();
  return {
    natsUrl: nats.url,
    certs: pki.dir,
    ports,
    dir,
    b,
    c,
    aliceApp,
    [Symbol.asyncDispose]: () => rest.disposeAsync(),
  };
}

withNats.test("broker cluster type queue: the holder's server is killed (SIGKILL) with messages in flight; the standby delivers everything after what the holder's listener was recorded to have taken, in order, with no duplicate of its own and none missing; only the holder's last in-flight window (at most 64) can reach both listeners, and at the standby those come first, marked redelivered", async () => {
  await using cl = await threeServers("once", []);
  const { dir, b, aliceApp } = cl;
  // The type stream holds only these: job i is at stream position i + 1.
  const jobs = Array.from({ length: 1500 }, (_, i) => `job${i}`);
  for (let i = 0; i < jobs.length; i += 100) {
    await Promise.all(
      jobs.slice(i, i + 100).map((t) => aliceApp.send("", "job", t, { ack: true })),
    );
  }
  await using atB = await app(dir("B"));
  const gotB: Message[] = [];
  await atB.listen("job", (m) => void gotB.push(m));
  await waitUntil(() => gotB.length >= 1, { what: "B to take the queue", timeoutMs: 30_000 });
  await using atC = await app(dir("C"));
  const gotC: Message[] = [];
  await atC.listen("job", (m) => void gotC.push(m));
  await waitUntil(() => gotB.length >= 400, { what: "400 jobs at B", timeoutMs: 30_000 });
  b.kill("SIGKILL");
  await b.status;

  // What B recorded as taken, with its claim (read before C can take over: B's heartbeat lasts 3 s).
  const nc = await connect({ servers: cl.natsUrl });
  let mark: number;
  try {
    const kv = await nc.jetstream().views.kv(clusterNames("once").typeHoldersBucket);
    const entry = await kv.get(token("job"));
    const held = JSON.parse(new TextDecoder().decode(entry!.value)) as ClusterPeer;
    assert.equal(held.server, "B");
    mark = held.mark ?? 0;
  } finally {
    await nc.close();
  }
  await waitUntil(() => gotC.length >= jobs.length - mark, {
    what: "C to deliver the rest",
    timeoutMs: 30_000,
  });
  await delay(500); // a duplicate would arrive now
  const b0 = gotB.map((m) => m.data);
  assert.deepEqual(b0, jobs.slice(0, b0.length));
  assert.ok(mark >= 400 - 64 && mark <= b0.length, `mark ${mark}, B got ${b0.length}`);
  assert.deepEqual(gotC.map((m) => m.data), jobs.slice(mark));
  assert.ok(b0.length - mark <= 64, `${b0.length - mark} jobs reached both B and C`);
  // redelivered: none of B's (first deliveries); at C, those B may have had (what JetStream
  // delivered to B's reader after its mark: every one B's app got, at most the 64 in flight), then none
  assert.deepEqual(gotB.filter((m) => m.redelivered).map((m) => m.data), []);
  const again = gotC.findIndex((m) => !m.redelivered);
  const flagged = again < 0 ? gotC.length : again;
  assert.ok(flagged >= b0.length - mark && flagged <= 64, `${flagged} flagged at C`);
  assert.deepEqual(gotC.slice(flagged).filter((m) => m.redelivered).map((m) => m.data), []);
  atB.close();
  atC.close();
});

/**
 * The type queue's holder B hands its window (64) of jobs to a raw app that
 * confirms 10 of them; then `leave` ends B's hold (its server killed, or
 * the app closing) and the standby C takes the queue. Returns the jobs, the
 * ids as B's app and C's got them (C's marked `+` when redelivered), and the
 * type's claim entry then.
 */
async function handOver(
  name: string,
  leave: (cl: ThreeServers, atB: { [Symbol.dispose](): void }) => Promise<void>,
): Promise<{ jobs: string[]; gotB: string[]; gotC: string[]; held: ClusterPeer }> {
  await using cl = await threeServers(name, []);
  const { dir, aliceApp } = cl;
  // The type stream holds only these: job i is at stream position i + 1.
  const jobs = Array.from({ length: 200 }, (_, i) => `job${i}`);
  await Promise.all(jobs.map((t) => aliceApp.send("", "job", t, { id: t, ack: true })));
  using atB = await rawApp(join(dir("B"), "broker.sock"));
  atB.write({ kind: "listen", types: ["job"], confirm: true });
  const gotB = () => atB.answers.flatMap((h) => h.kind === "msg" ? [h] : []);
  // B hands out its window (64) and no more while they are unconfirmed
  await waitUntil(() => gotB().length === 64, { what: "64 jobs at B", timeoutMs: 30_000 });
  atB.write({ kind: "delivered", n: 10 });
  await waitUntil(() => gotB().length === 74, { what: "10 more jobs at B", timeoutMs: 30_000 });
  assert.ok(gotB().every((h) => !("redelivered" in h)), "B's are first deliveries");
  const nc = await connect({ servers: cl.natsUrl });
  await using _nc = { [Symbol.asyncDispose]: () => nc.close() };
  const kv = await nc.jetstream().views.kv(clusterNames(name).typeHoldersBucket);
  const entry = async () =>
    JSON.parse(new TextDecoder().decode((await kv.get(token("job")))!.value)) as ClusterPeer;
  await waitUntil(async () => (await entry()).mark === 10, { what: "B to record 10 taken" });
  await using atC = await app(dir("C"));
  const gotC: string[] = [];
  await atC.listen("job", (m) => void gotC.push(m.redelivered ? `${m.id}+` : m.id));
  await leave(cl, atB);
  await waitUntil(() => gotC.length >= jobs.length - 10, {
    what: "C to deliver the rest",
    timeoutMs: 30_000,
  });
  await delay(300); // a duplicate would arrive now
  atC.close();
  return { jobs, gotB: gotB().map((h) => h.id), gotC, held: await entry() };
}

for (
  const [how, name, leave] of [
    ["its server is killed", "againkill", async ({ b }: ThreeServers) => {
      b.kill("SIGKILL");
      await b.status;
    }],
    ["its app closes", "againclose", (_: ThreeServers, atB: { [Symbol.dispose](): void }) => {
      atB[Symbol.dispose]();
      return Promise.resolve();
    }],
  ] as const
) {
  withNats.test(`broker cluster type queue redelivered: the holder's app holds messages unconfirmed and ${how}; at the standby exactly those come marked redelivered, in order, then the rest unmarked`, async () => {
    const { jobs, gotB, gotC, held } = await handOver(name, leave);
    assert.deepEqual(gotC, [...gotB.slice(10).map((id) => `${id}+`), ...jobs.slice(gotB.length)]);
    // kept with the claim for a holder after C, should C die before it handed them on again
    assert.equal(held.server, "C");
    assert.equal(held.again, gotB.length);
  });
}

withNats.test("broker cluster mailbox: the server delivering a client's mailbox is killed (SIGKILL) with messages in flight; the client fails over to another server and its app gets every message, in order, once", async () => {
  await using cl = await threeServers("oncebox", ["carol"]);
  const { dir, ports, b, c, aliceApp } = cl;
  // carol tries B first, then C.
  await using carol = startClient(cl.certs, dir("carol"), "carol", ports.B, [
    "--server",
    `127.0.0.1:${ports.C}`,
  ]);
  await connected(carol);
  await using carolApp = await app(dir("carol"));
  const got: Message[] = [];
  await carolApp.listen("note", (m) => void got.push(m));
  await waitUntil(
    () => aliceApp.send("carol", "note", "n0", { ack: true }).then(() => true, () => false),
    { what: "A to know carol", timeoutMs: 20_000 },
  );
  const texts = ["n0", ...Array.from({ length: 1500 }, (_, i) => `m${i}`)];
  const sent = (async () => {
    for (let i = 1; i < texts.length; i += 100) {
      await Promise.all(
        texts.slice(i, i + 100).map((t) => aliceApp.send("carol", "note", t, { ack: true })),
      );
    }
  })();
  await waitUntil(() => got.length >= 300, { what: "300 notes through B", timeoutMs: 30_000 });
  b.kill("SIGKILL");
  await b.status;
  await sent;
  await waitUntil(() => got.length >= texts.length, {
    what: "every note through C",
    timeoutMs: 60_000,
  });
  await delay(500); // a duplicate would arrive now
  assert.deepEqual(got.map((m) => m.data), texts);
  assert.match(c.stderrText(), /client connected .*peer=carol/);
  carolApp.close();
});
