/**
 * A cluster member in its own process, for tests that kill a server:
 * `deno run -A node_main.ts NATS_URL CLUSTER SERVER [CLIENT]` joins the
 * cluster as SERVER, claims CLIENT (if given) and prints "ready"; it then
 * prints each message id read from CLIENT's mailbox, one a line, until killed.
 */
import { ClusterNode } from "../../core/broker/cluster/mod.ts";

const [url, cluster, server, client] = Deno.args;
const node = await ClusterNode.open({ servers: [url!], cluster: cluster!, server: server! });
const out = Deno.stdout;
const enc = new TextEncoder();
if (client) {
  await node.presence.claim(client);
  await node.mailboxes.read(client, async (m) => {
    await out.write(enc.encode(`${m.id}\n`));
  });
}
await out.write(enc.encode("ready\n"));
