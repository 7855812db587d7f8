/**
 * A connector that stops right after receiving messages acknowledges them
 * before its links close, so the sender does not keep them journaled and
 * send them again after the next link-up.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { Connector } from "../core/broker/mod.ts";
import { startClientConnector, startServerConnector } from "../core/broker/service.ts";
import { makePki, tempDir, waitUntil } from "./harness/mod.ts";

async function link(pkiDir: string, dir: string): Promise<{ server: Connector; alice: Connector }> {
  const server = await startServerConnector(pkiDir, {
    name: "server",
    dir: join(dir, "server"),
    host: "127.0.0.1",
    port: 0,
  });
  const alice = await startClientConnector(pkiDir, {
    name: "alice",
    dir: join(dir, "alice"),
    server: { host: "127.0.0.1", port: server.port },
  });
  await waitUntil(() => alice.admin.peers()[0]?.connected, { what: "alice to link up" });
  return { server, alice };
}

/** Messages `c` keeps journaled for `peer`. */
function journaled(c: Connector, peer: string): unknown {
  return c.admin.queueSizes().journals.find((j) => j.peer === peer)?.messages;
}

const CASES = [
  { stopped: "alice", role: "client", sender: "server", peerRole: "server" },
  { stopped: "server", role: "server", sender: "alice", peerRole: "client" },
] as const;

for (const { stopped, role, sender, peerRole } of CASES) {
  Deno.test(`broker: a ${role} connector stopped right after a message arrives acknowledges it; the ${peerRole} journals nothing for it`, async () => {
    await using pki = await makePki({ clients: ["alice"] });
    await using tmp = await tempDir("sockkit-broker-close-acks-");
    const linked = await link(pki.dir, tmp.path);
    const [receiver, from] = [linked[stopped], linked[sender]];
    await using _from = from;
    const got = Promise.withResolvers<unknown>();
    receiver.listen("news", (m) => got.resolve(m.data));
    await from.send(stopped, "news", "item 1");
    assert.equal(await got.promise, "item 1");
    await receiver.close(); // at once: no ack was asked for, so the receipt is still held back
    await waitUntil(() => from.admin.peers().every((p) => !p.connected), {
      what: "the link to close",
    });
    assert.equal(journaled(from, stopped), 0);
  });
}
