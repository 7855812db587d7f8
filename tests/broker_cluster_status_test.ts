/**
 * What follows a cluster node's NATS connection, against a real
 * `nats-server -js`: a closed bridge no longer acts on NATS returning while
 * its node lives on; the node logs an outage while it is still joining,
 * its loss before its return.
 */
import assert from "node:assert/strict";
import { ClusterNode } from "../core/broker/cluster/mod.ts";
import { ClusterBridge } from "../core/broker/cluster/bridge.ts";
import { ClusterTypeShare } from "../core/broker/cluster/type_share.ts";
import { delay } from "../core/async/mod.ts";
import { startNats, waitUntil, withNats } from "./harness/mod.ts";
import { capture } from "./_cluster/capture.ts";
import { cutProxy } from "./_cluster/cut_proxy.ts";

const lost = (l: string) => l.includes("WARN  cluster NATS connection lost: ");
const back = (l: string) => l.includes("INFO  cluster NATS connection back ");

withNats.test("broker cluster bridge: once closed, while its node stays in the cluster, it does nothing when NATS comes back: it does not claim the names of its clients again", async () => {
  await using nats = await startNats();
  const { lines, log } = capture();
  await using node = await ClusterNode.open({
    servers: [nats.url],
    cluster: "sb",
    server: "A",
    log,
  });
  /** Calls of the bridge's `here()` (its list of the clients connected here) once it was closed. */
  let closed = false;
  let lateCalls = 0;
  const types = new ClusterTypeShare({ node, handOut: () => Promise.resolve(), log });
  const bridge = new ClusterBridge({
    node,
    peer: () => {
      throw new Error("no message for a client in this test");
    },
    find: () => undefined,
    here: () => {
      if (closed) lateCalls++;
      return ["alice"];
    },
    fanout: () => Promise.resolve(),
    receive: () => Promise.resolve(),
    types,
    log,
  });
  await bridge.start();
  assert.equal(await bridge.admit("alice"), undefined);
  await bridge.close();
  closed = true;
  await node.presence.release("alice"); // alice left with the bridge
  assert.equal(await node.presence.where("alice"), undefined);

  await nats.stop();
  await waitUntil(() => lines.some(lost), { what: `NATS lost (log: ${JSON.stringify(lines)})` });
  await nats.restart();
  await waitUntil(() => lines.some(back), {
    what: `NATS back (log: ${JSON.stringify(lines)})`,
    timeoutMs: 30_000,
  });
  // The node answers again; a bridge acting on the return would have claimed alice by now
  // (a heartbeat and a claim, a few ms each).
  await waitUntil(() => node.presence.beat().then(() => true, () => false), {
    what: "the node to reach NATS again",
  });
  await delay(1000);
  assert.equal(await node.presence.where("alice"), undefined, "alice is not claimed again");
  assert.equal(lateCalls, 0, "the closed bridge did not look for its clients");
});

withNats.test("broker cluster node: a NATS connection lost while the node joins (before its buckets are made) and back before it joined is logged once at warn, then once at info, and the node joins", async () => {
  await using nats = await startNats();
  // Cut at the first bucket's creation; the request is answered after the reconnect.
  await using proxy = cutProxy(nats.port, /^\$JS\.API\.STREAM\./);
  const { lines, log } = capture();
  await using node = await ClusterNode.open({
    servers: [proxy.url],
    cluster: "sj",
    server: "A",
    log,
  });
  assert.equal(proxy.replayed, true, "the connection was cut during the join");
  await node.presence.claim("alice");
  assert.equal((await node.presence.where("alice"))?.server, "A");
  await waitUntil(() => lines.some(back), { what: `NATS back (log: ${JSON.stringify(lines)})` });
  const all = JSON.stringify(lines);
  const about = lines.filter((l) => lost(l) || back(l));
  assert.deepEqual(about.map(lost), [true, false], `one loss, then one return (log: ${all})`);
  assert.match(about[0]!, /nats=127\.0\.0\.1:\d+/);
  assert.match(about[1]!, /nats=127\.0\.0\.1:\d+/);
});
