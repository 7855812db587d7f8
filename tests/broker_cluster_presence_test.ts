/**
 * The cluster's client list (`Claims.list()`, read by every server each
 * second) against a real `nats-server -js`: it follows the presence bucket
 * through a watch, so claims and releases made on another server show in
 * it, thousands of released names (which stay in the bucket) do not, and
 * it is right again after nats-server restarts; which holders are alive
 * comes from a watched copy of the heartbeats (no read per server); a
 * lost NATS connection is logged once, by the node, not by each copy; a
 * copy's own failing watch is logged once and its recovery too; a first
 * read that stalls fails instead of waiting.
 */
import assert from "node:assert/strict";
import { connect, type KV, type KvEntry, type NatsConnection, type QueuedIterator } from "nats";
import { clusterNames, ClusterNode, ClusterPresence, token } from "../core/broker/cluster/mod.ts";
import { delay, settlesWithin } from "../core/async/mod.ts";
import { startNats, waitUntil, withNats } from "./harness/mod.ts";
import { capture } from "./_cluster/capture.ts";

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

/** The cluster's two presence buckets, through connection `nc`. */
async function buckets(nc: NatsConnection, cluster: string): Promise<{ clients: KV; servers: KV }> {
  const names = clusterNames(cluster);
  const js = nc.jetstream();
  return {
    clients: await js.views.kv(names.presenceBucket),
    servers: await js.views.kv(names.serversBucket),
  };
}

/**
 * Server A of cluster `cluster` (it makes the buckets: a beat every 300 ms,
 * gone after three missed, the heartbeats bucket's TTL of 900 ms) and another
 * NATS connection `nc` with both buckets, for a server B opened by hand.
 */
async function withA(url: string, cluster: string) {
  const a = await member(url, cluster)("A");
  const nc = await connect({ servers: [url] });
  return {
    a,
    nc,
    ...(await buckets(nc, cluster)),
    async [Symbol.asyncDispose]() {
      await nc.close();
      await a.close();
    },
  };
}

/** `kv` with some of its methods replaced (the rest are its own). */
function overriding(kv: KV, replaced: Partial<KV>): KV {
  return new Proxy(kv, {
    get(target, key) {
      if (key in replaced) return replaced[key as keyof KV];
      const v = Reflect.get(target, key, target);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
}

withNats.test("broker cluster client list: holders are judged alive from a watched copy of the heartbeats, with no NATS read per holding server; a server that stopped beating is judged dead by its last beat's age though the copy still holds that beat, a beating one stays alive", async () => {
  await using nats = await startNats();
  await using cluster = await withA(nats.url, "pv");
  const reads = { n: 0 };
  const servers = overriding(cluster.servers, {
    get: (...args) => (reads.n++, cluster.servers.get(...args)),
  });
  await using b = await ClusterPresence.open({
    server: "B",
    clients: cluster.clients,
    servers,
    beatMs: 300,
  });
  const ncC = await connect({ servers: [nats.url] });
  try {
    await using c = await ClusterPresence.open({
      server: "C",
      ...(await buckets(ncC, "pv")),
      beatMs: 300,
    });
    await cluster.a.presence.claim("alice");
    await b.claim("bob");
    await c.claim("carol");
    const listed = async () => (await b.list()).map((p) => `${p.client}@${p.server}`);
    let last: string[] = [];
    await waitUntil(async () => (last = await listed()).length === 3, {
      what: `B to list alice, bob and carol (last: ${JSON.stringify(last)})`,
    });
    assert.deepEqual(last, ["alice@A", "bob@B", "carol@C"]);
    // Before: one read of the heartbeats bucket per holding server, per list.
    assert.equal(reads.n, 0, "B's lists read no heartbeat from NATS");

    // C is cut off from NATS: its beats stop, nothing deletes its last one; the watch
    // reports no expiry, so B's copy keeps that beat: its age must decide.
    await ncC.close();
    await waitUntil(async () => (last = await listed()).length === 2, {
      what: `B to drop carol once C's beats stopped (last: ${JSON.stringify(last)})`,
    });
    assert.deepEqual(last, ["alice@A", "bob@B"]);
    assert.equal(await b.known("carol"), true); // still claimed by C in the bucket
    // A and B beat on: three beats' time later they are still alive.
    await delay(1000);
    assert.deepEqual(await listed(), ["alice@A", "bob@B"]);
    assert.equal(reads.n, 0, "B's lists read no heartbeat from NATS");
  } finally {
    await ncC.close();
  }
});

/** A line of a copy's log: `INFO  cluster copy of WHAT complete again ...` and the like. */
const copyLine = (level: "INFO " | "WARN " | "DEBUG", what: string, says: string) => (l: string) =>
  l.includes(`${level} cluster copy of ${what} ${says}`);
const NAMES = "the names held in the cluster";
const BEATS = "the servers' heartbeats";

withNats.test("broker cluster client list: when nats-server stops, the node logs once at warn that the NATS connection is lost, the local copies (the names held, the heartbeats) log nothing at warn of their own, and the list still lists the last copy; once NATS is back, the node logs once at info that it is back and each copy, read in full again, says so at debug only", async () => {
  await using nats = await startNats();
  const { lines, log } = capture("debug");
  await using a = await ClusterNode.open({
    servers: [nats.url],
    cluster: "pw",
    server: "A",
    beatMs: 300,
    log,
  });
  await a.presence.claim("alice");
  assert.deepEqual((await a.presence.list()).map((p) => p.client), ["alice"]);

  await nats.stop();
  const lost = (l: string) => l.includes("WARN  cluster NATS connection lost: ");
  await waitUntil(() => lines.some(lost), {
    what: `the warning that NATS is lost (log: ${JSON.stringify(lines)})`,
  });
  assert.deepEqual((await a.presence.list()).map((p) => p.client), ["alice"], "the last copy");

  await nats.restart();
  const back = (l: string) => l.includes("INFO  cluster NATS connection back ");
  const again = [NAMES, BEATS].map((what) => copyLine("DEBUG", what, "complete again"));
  await waitUntil(() => lines.some(back) && again.every((line) => lines.some(line)), {
    what: `NATS back and both copies complete again (log: ${JSON.stringify(lines)})`,
    timeoutMs: 30_000,
  });
  assert.match(
    lines.find(again[0]!)!,
    /bucket=sockkit_pw_presence staleMs=\d+ failedAttempts=\d+/,
  );
  assert.match(lines.find(again[1]!)!, /bucket=sockkit_pw_servers staleMs=\d+/);
  const at = (level: string) => lines.filter((l) => l.includes(` ${level} `));
  assert.deepEqual(at("WARN").map(lost), [true], `one warning (log: ${JSON.stringify(lines)})`);
  assert.deepEqual(at("INFO").map(back), [true], `one info line (log: ${JSON.stringify(lines)})`);
});

withNats.test("broker cluster client list: a watch that ends and then fails to start again while the NATS connection is up is logged once at warn (what failed, which bucket, that the last copy is still read, the retry delay), not once per attempt; the copy complete again is logged at info with the failed attempts", async () => {
  await using nats = await startNats();
  await using cluster = await withA(nats.url, "pr");
  await cluster.a.presence.claim("alice");
  // The next `failing` watches fail to start; `current` is the last one started.
  const ctl: { failing: number; current?: QueuedIterator<KvEntry> } = { failing: 0 };
  const clients = overriding(cluster.clients, {
    watch: async (opts) => {
      if (ctl.failing > 0) {
        ctl.failing--;
        throw new Error("consumer create refused (injected)");
      }
      return ctl.current = await cluster.clients.watch(opts);
    },
  });
  const { lines, log } = capture();
  await using b = await ClusterPresence.open({
    server: "B",
    clients,
    servers: cluster.servers,
    beatMs: 300,
    mirror: { log, status: () => cluster.nc.status() }, // up throughout: the failures are the copy's own
  });
  assert.deepEqual((await b.list()).map((p) => p.client), ["alice"]);

  ctl.failing = 2;
  ctl.current!.stop(); // the watch ends; the next two fail to start; the third works
  const again = copyLine("INFO ", NAMES, "complete again");
  await waitUntil(() => lines.some(again), {
    what: `the copy to be complete again (log: ${JSON.stringify(lines)})`,
  });
  const warnings = lines.filter((l) => l.includes(" WARN "));
  assert.equal(warnings.length, 1, `one warning for the failures (log: ${JSON.stringify(lines)})`);
  assert.match(
    warnings[0]!,
    /WARN {2}cluster copy of the names held in the cluster not kept current: its watch failed; the last copy is still read, watching again every 1000 ms \(check that the cluster's nats-server runs with JetStream and is reachable\) bucket=sockkit_pr_presence error="the watch ended by itself" retryMs=1000/,
  );
  assert.match(lines.find(again)!, /bucket=sockkit_pr_presence staleMs=\d+ failedAttempts=3/);
  assert.deepEqual((await b.list()).map((p) => p.client), ["alice"]);
});

withNats.test("broker cluster client list: a first read of the bucket that stalls (a watch that delivers one of several entries, then nothing) fails after the injected stall limit with an error naming the copy, the bucket and what to check, instead of waiting for ever", async () => {
  await using nats = await startNats();
  await using cluster = await withA(nats.url, "ps");
  await cluster.a.presence.claim("alice");
  await cluster.a.presence.claim("bob");
  // Its watches deliver the first entry, then nothing (their "read complete" signal is not passed on).
  const clients = overriding(cluster.clients, {
    watch: async () => {
      const real = await cluster.clients.watch();
      const it = real[Symbol.asyncIterator]();
      const stopped = Promise.withResolvers<IteratorResult<KvEntry>>();
      let first = true;
      const stalled = {
        getReceived: () => 0,
        stop: () => {
          real.stop();
          stopped.resolve({ done: true, value: undefined });
        },
        [Symbol.asyncIterator]: () => ({
          next: () => first ? (first = false, it.next()) : stopped.promise,
        }),
      };
      return stalled as unknown as QueuedIterator<KvEntry>;
    },
  });
  await using b = await ClusterPresence.open({
    server: "B",
    clients,
    servers: cluster.servers,
    beatMs: 300,
    mirror: { stallMs: 300 },
  });
  const list = b.list();
  // (a guard for the test run only: without the stall limit the list waits for ever)
  assert.equal(await settlesWithin(list, 20_000), true, "the first list settles");
  await assert.rejects(
    list,
    /Cannot read the names held in the cluster from NATS: the read of bucket "sockkit_ps_presence" stalled: no entry for 300 ms with 1 read so far, before it was complete \(check that the cluster's nats-server runs with JetStream and is reachable; tried again every 1000 ms\)/,
  );
});
