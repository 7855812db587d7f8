/**
 * The cluster's client list (`Claims.list()`, read by every server each
 * second) against a real `nats-server -js`: it follows the presence bucket
 * through a watch, so claims and releases made on another server show in
 * it, thousands of released names (which stay in the bucket) do not, and
 * it is right again after nats-server restarts.
 */
import assert from "node:assert/strict";
import { connect } from "nats";
import { clusterNames, ClusterNode, token } from "../core/broker/cluster/mod.ts";
import { startNats, waitUntil, withNats } from "./harness/mod.ts";

const enc = new TextEncoder();
const RELEASED = 2000;

/** Writes `n` released names (`ghost-0`...) into cluster `cluster`'s presence bucket, as servers leave them. */
async function writeReleased(url: string, cluster: string, n: number): Promise<void> {
  const nc = await connect({ servers: [url] });
  try {
    const kv = await nc.jetstream().views.kv(clusterNames(cluster).presenceBucket);
    for (let i = 0; i < n; i += 200) {
      await Promise.all(
        Array.from({ length: Math.min(200, n - i) }, (_, j) => {
          const client = `ghost-${i + j}`;
          const gone = { client, server: "", since: Date.now() };
          return kv.put(token(client), enc.encode(JSON.stringify(gone)));
        }),
      );
    }
  } finally {
    await nc.close();
  }
}

/** Opens server connector `server` of cluster `cluster` (heartbeat every 300 ms). */
const member = (url: string, cluster: string) => (server: string) =>
  ClusterNode.open({ servers: [url], cluster, server, beatMs: 300 });

const listed = async (node: ClusterNode) =>
  (await node.presence.list()).map((p) => `${p.client}@${p.server}`);

/** Waits until `node` lists exactly `want` (the list follows the bucket through a watch). */
async function lists(node: ClusterNode, want: string[], what: string): Promise<void> {
  let last: string[] = [];
  await waitUntil(async () => {
    last = await listed(node);
    return JSON.stringify(last) === JSON.stringify(want);
  }, { what: `${what} (last listed: ${JSON.stringify(last)})`, timeoutMs: 15_000 });
}

withNats.test("broker cluster client list: a claim on server A shows in B's list and a release takes it out; 2,000 released names in the bucket never show, before or after B starts; after nats-server restarts the list follows the bucket again; a closed server's list refuses to read", async () => {
  await using nats = await startNats();
  const open = member(nats.url, "pl");
  await using a = await open("A");
  await using b = await open("B");
  assert.deepEqual(await listed(b), []); // an empty bucket: the first read completes at once

  await a.presence.claim("alice");
  await lists(b, ["alice@A"], "B to list alice on A");
  await b.presence.claim("bob");
  await a.presence.release("alice");
  await lists(b, ["bob@B"], "B to drop alice once A released her");
  assert.equal(await b.presence.known("alice"), true); // released names stay known

  // Names released long ago stay in the bucket; the list only holds the held ones.
  await writeReleased(nats.url, "pl", RELEASED);
  await a.presence.claim("carol"); // written after the 2,000: B has taken them all in once it lists her
  await lists(b, ["bob@B", "carol@A"], "B to list carol after the 2,000 released names");
  assert.equal(await b.presence.known(`ghost-${RELEASED - 1}`), true);
  // A server started now reads the whole bucket once, released names included, and lists the held ones.
  await using c = await open("C");
  assert.deepEqual(await listed(c), ["bob@B", "carol@A"]);

  // NATS restarts: the watches start over and the lists follow the changes made since.
  await nats.restart();
  await waitUntil(
    () => a.presence.claim("dave").then(() => true, () => false),
    { what: "A to claim dave once nats-server is back", timeoutMs: 20_000 },
  );
  await waitUntil(
    () => a.presence.release("carol").then(() => true, () => false),
    { what: "A to release carol once nats-server is back", timeoutMs: 20_000 },
  );
  await lists(b, ["bob@B", "dave@A"], "B to list dave and drop carol after the restart");
  await lists(c, ["bob@B", "dave@A"], "C to list dave and drop carol after the restart");

  await b.close();
  await assert.rejects(
    b.presence.list(),
    /Cannot list the names held in the cluster: server "B" closed its registry/,
  );
});

withNats.test("broker cluster client list: a first read while nats-server is down fails with an error naming what could not be read; once NATS is back the list is read and follows the bucket", async () => {
  await using nats = await startNats();
  const open = member(nats.url, "pd");
  await using a = await open("A");
  await using b = await open("B");
  await a.presence.claim("alice");

  await nats.stop();
  await assert.rejects(
    b.presence.list(),
    /Cannot read the names held in the cluster from NATS: no answer from the nats-server in time \(check that the cluster's nats-server runs with JetStream and is reachable; tried again every 1000 ms\)/,
  );
  await nats.restart();
  await lists(b, ["alice@A"], "B to read the list once nats-server is back");
  await a.presence.claim("bob");
  await lists(b, ["alice@A", "bob@A"], "B to list bob, claimed after its first read");
});

withNats.test("broker cluster: a server whose join fails after its heartbeat started (a stream JetStream cannot hold) leaves no heartbeat behind: the others do not see it alive", async () => {
  await using nats = await startNats();
  await assert.rejects(
    ClusterNode.open({
      servers: [nats.url],
      cluster: "pf",
      server: "A",
      maxBytes: 2 ** 52, // more than this machine's JetStream may store
    }),
    /Cannot join cluster "pf" through .*: insufficient storage resources available/,
  );
  const nc = await connect({ servers: [nats.url] });
  try {
    const servers = await nc.jetstream().views.kv(clusterNames("pf").serversBucket);
    // Before: the heartbeat stayed (and its timer ran on), so A looked alive for three beats.
    const beat = await servers.get(token("A"));
    assert.notEqual(beat?.operation, "PUT", "no heartbeat of A in the bucket");
  } finally {
    await nc.close();
  }
});
