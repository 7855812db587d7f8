/**
 * What follows a cluster node's NATS connection, against a real
 * `nats-server -js`: a closed bridge no longer acts on NATS returning while
 * its node lives on.
 */
import assert from "node:assert/strict";
import { ClusterNode } from "../core/broker/cluster/mod.ts";
import { ClusterBridge } from "../core/broker/cluster/bridge.ts";
import { ClusterTypeShare } from "../core/broker/cluster/type_share.ts";
import { delay } from "../core/async/mod.ts";
import { startNats, waitUntil, withNats } from "./harness/mod.ts";
import { capture } from "./_cluster/capture.ts";

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
