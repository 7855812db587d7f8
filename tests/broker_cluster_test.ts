/**
 * The broker cluster's shared parts against a real `nats-server -js`:
 * presence (one name once in the cluster), mailboxes (forwarding and away
 * backlog, in order and once, surviving a killed server) and pub/sub
 * across servers. Killed servers are real processes (tests/_cluster/node_main.ts).
 */
import assert from "node:assert/strict";
import {
  ClientTakenError,
  ClusterNode,
  type ClusterPublication,
} from "../core/broker/cluster/mod.ts";
import { delay } from "../core/async/mod.ts";
import { REPO_ROOT, startNats, waitUntil, withNats } from "./harness/mod.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** A cluster member in a child process that the test can SIGKILL. */
function spawnNode(url: string, cluster: string, server: string, client?: string) {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--quiet",
      "--config",
      `${REPO_ROOT}deno.json`,
      `${REPO_ROOT}tests/_cluster/node_main.ts`,
      url,
      cluster,
      server,
      ...(client ? [client] : []),
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const lines: string[] = [];
  const pumped = (async () => {
    let partial = "";
    for await (const chunk of child.stdout) {
      partial += dec.decode(chunk, { stream: true });
      let nl: number;
      while ((nl = partial.indexOf("\n")) >= 0) {
        lines.push(partial.slice(0, nl));
        partial = partial.slice(nl + 1);
      }
    }
  })();
  return {
    lines,
    async kill() {
      try {
        child.kill("SIGKILL");
      } catch { /* exited */ }
      await child.status;
      await pumped;
    },
    async [Symbol.asyncDispose]() {
      await this.kill();
    },
  };
}

withNats.test("broker cluster presence: a client name is held by one server at a time; every server lists every client and where it is; a killed server's clients can connect elsewhere once its heartbeat expires", async () => {
  await using nats = await startNats();
  const open = (server: string) =>
    ClusterNode.open({ servers: [nats.url], cluster: "t1", server, beatMs: 300 });
  await using a = await open("A");
  await using b = await open("B");
  await a.presence.claim("alice");
  await b.presence.claim("bob");
  await assert.rejects(b.presence.claim("alice"), (err: Error) => {
    assert.ok(err instanceof ClientTakenError);
    assert.match(err.message, /"alice" is already connected to server "A"/);
    return true;
  });
  const listed = (await b.presence.list()).map((p) => `${p.client}@${p.server}`);
  assert.deepEqual(listed, ["alice@A", "bob@B"]);
  assert.equal((await a.presence.where("bob"))?.server, "B");

  // Released: the name is free for another server, and stays known.
  await a.presence.release("alice");
  assert.equal(await a.presence.where("alice"), undefined);
  // The list follows the bucket through a watch: the release shows once delivered.
  await waitUntil(
    async () => JSON.stringify((await b.presence.list()).map((p) => p.client)) === '["bob"]',
    { what: "B to drop alice from its list" },
  );
  assert.equal(await b.presence.known("alice"), true);
  assert.equal(await b.presence.known("nobody"), false);
  await b.presence.claim("alice");
  assert.equal((await a.presence.where("alice"))?.server, "B");

  // A killed server keeps its entry, but only until its heartbeat expires.
  await using c = spawnNode(nats.url, "t1", "C", "carol");
  await waitUntil(() => c.lines.includes("ready"), { what: "server C to claim carol" });
  await assert.rejects(a.presence.claim("carol"), ClientTakenError);
  await c.kill();
  await waitUntil(async () => (await a.presence.where("carol")) === undefined, {
    what: "C's heartbeat to expire",
  });
  await a.presence.claim("carol");
  await waitUntil(
    async () =>
      JSON.stringify((await b.presence.list()).map((p) => `${p.client}@${p.server}`)) ===
        JSON.stringify(["alice@B", "bob@B", "carol@A"]),
    { what: "B to list carol on A" },
  );
});

withNats.test("broker cluster mailbox: A's message for a client on C is stored (the send resolves), reaches C once even when sent twice; 1,000 messages for an away client survive C being killed and reach the client on B in order, once", async () => {
  await using nats = await startNats();
  const open = (server: string) =>
    ClusterNode.open({ servers: [nats.url], cluster: "t2", server, beatMs: 300 });
  await using a = await open("A");
  await using b = await open("B");

  // carol is connected to C, a separate process: A forwards to her through NATS.
  await using c = spawnNode(nats.url, "t2", "C", "carol");
  await waitUntil(() => c.lines.includes("ready"), { what: "server C to claim carol" });
  assert.equal((await a.presence.where("carol"))?.server, "C");
  await a.mailboxes.send("carol", "m-first", enc.encode("hello"));
  await a.mailboxes.send("carol", "m-first", enc.encode("hello")); // a retry: not stored again
  await a.mailboxes.send("carol", "m-second", enc.encode("hello again"));
  await waitUntil(() => c.lines.includes("m-second"), { what: "C to deliver m-second" });
  assert.deepEqual(c.lines.filter((l) => l !== "ready"), ["m-first", "m-second"]);
  await waitUntil(async () => (await a.mailboxes.waiting("carol")) === 0, {
    what: "C's acknowledgements to empty carol's mailbox",
  });

  // C dies while holding carol (her reader goes with it); 1,000 messages wait.
  await c.kill();
  const ids = Array.from({ length: 1000 }, (_, i) => `away-${i}`);
  await Promise.all(ids.map((id) => a.mailboxes.send("carol", id, enc.encode(id))));
  assert.equal(await b.mailboxes.waiting("carol"), 1000);

  // carol comes back on B (after C's heartbeat expired) and gets all 1,000 in order.
  await waitUntil(() => b.presence.claim("carol").then(() => true), {
    what: "B to take carol over from the dead C",
  });
  const got: string[] = [];
  const payloadsMatch: boolean[] = [];
  await using reader = await b.mailboxes.read("carol", (m) => {
    got.push(m.id);
    payloadsMatch.push(dec.decode(m.payload) === m.id);
  }, { window: 32 });
  await waitUntil(() => got.length >= 1000, { what: "1,000 messages on B", timeoutMs: 30_000 });
  await reader.stop();
  assert.deepEqual(got, ids);
  assert.ok(payloadsMatch.every(Boolean));
  assert.equal(await b.mailboxes.waiting("carol"), 0);
});

withNats.test("broker cluster mailbox: a handler that fails leaves its message, and every later one, first in line for the next reader", async () => {
  await using nats = await startNats();
  await using a = await ClusterNode.open({ servers: [nats.url], cluster: "t3", server: "A" });
  for (const id of ["m0", "m1", "m2"]) await a.mailboxes.send("dave", id, enc.encode(id));
  const first: string[] = [];
  const failing = await a.mailboxes.read("dave", async (m) => {
    if (m.id === "m1") {
      await delay(50); // m2 is handed over meanwhile, but must not leave the mailbox
      throw new Error("link lost");
    }
    first.push(m.id);
  }, { window: 4 });
  await assert.rejects(failing.done, /link lost/);
  await failing.stop();
  const second: string[] = [];
  await using again = await a.mailboxes.read("dave", (m) => void second.push(m.id));
  await waitUntil(() => second.length >= 2, { what: "the rest of dave's mailbox" });
  await again.stop();
  assert.deepEqual(first, ["m0", "m2"]);
  assert.deepEqual(second, ["m1", "m2"]);
});

withNats.test("broker cluster pub/sub: a message published on one server reaches the other servers in order (not back to its own), and a server that was down gets what was published meanwhile", async () => {
  await using nats = await startNats();
  const open = (server: string) => ClusterNode.open({ servers: [nats.url], cluster: "t4", server });
  await using a = await open("A");
  await using b = await open("B");
  let c = await open("C");
  const seen: Record<string, ClusterPublication[]> = { A: [], B: [], C: [] };
  await a.pubsub.receive((p) => void seen.A!.push(p));
  await b.pubsub.receive((p) => void seen.B!.push(p));
  await c.pubsub.receive((p) => void seen.C!.push(p));
  await a.pubsub.publish("news.sport", "n1", enc.encode("goal"));
  await a.pubsub.publish("news.sport", "n1", enc.encode("goal")); // a retry: not stored again
  await a.pubsub.publish("news", "n2", enc.encode("second"));
  await waitUntil(() => seen.B!.length === 2 && seen.C!.length === 2, {
    what: "B and C to receive the publications",
  });
  for (const s of ["B", "C"]) {
    assert.deepEqual(seen[s]!.map((p) => [p.type, p.server, dec.decode(p.payload)]), [
      ["news.sport", "A", "goal"],
      ["news", "A", "second"],
    ]);
  }

  // C is down while B publishes; back, it gets it.
  await c.close();
  await b.pubsub.publish("news", "n3", enc.encode("while C was away"));
  await waitUntil(() => seen.A!.length === 1, { what: "A to receive B's publication" });
  c = await open("C");
  await c.pubsub.receive((p) => void seen.C!.push(p));
  await waitUntil(() => seen.C!.length === 3, { what: "C to catch up" });
  assert.equal(dec.decode(seen.C![2]!.payload), "while C was away");
  await c.close();
  await delay(200); // an echo or a duplicate would arrive now
  assert.deepEqual(seen.A!.map((p) => dec.decode(p.payload)), ["while C was away"]);
  assert.equal(seen.B!.length, 2);
});

withNats.test("broker cluster mailbox: a message JetStream offers again after its ack wait ran out is not handed over twice, whether its handler still runs or is done", async () => {
  await using nats = await startNats();
  await using a = await ClusterNode.open({
    servers: [nats.url],
    cluster: "t5",
    server: "A",
    ackWaitMs: 300,
  });
  const ids = ["m0", "m1", "m2", "m3"];
  for (const id of ids) await a.mailboxes.send("erin", id, enc.encode(id));
  const handled: string[] = [];
  // m0 takes longer than three ack waits: JetStream offers m0 and m1 (the two held) again
  // meanwhile, and those offers are read only after both were handed on and acknowledged.
  await using _reader = await a.mailboxes.read("erin", async (m) => {
    handled.push(m.id);
    if (m.id === "m0") await delay(1000);
  }, { window: 2 });
  await waitUntil(async () => (await a.mailboxes.waiting("erin")) === 0, {
    what: "erin's mailbox to empty",
  });
  await delay(700); // a late offer would be handed over now
  assert.deepEqual(handled, ids);
});
