/** Two clustered servers with a sender connected and a receiver away, for the cluster tests. */
import { join } from "node:path";
import type { CliProcess } from "../harness/mod.ts";
import { makePki, startNats, tempDir, waitUntil } from "../harness/mod.ts";
import type { BrokerClient } from "../../core/broker/mod.ts";
import { app, connected, freePort, startClient, stop } from "../broker_helpers.ts";
import { clusterServer } from "./serve.ts";

/** What {@linkcode aliceAndAwayCarol} starts. */
export interface AwayCarol extends AsyncDisposable {
  /** The state directory of connector `name` (`A`, `B`, `alice`, `carol`). */
  dir(name: string): string;
  /** alice's app: alice is connected to server A and has sent "n0" to carol (acknowledged). */
  aliceApp: BrokerClient;
  /** Starts carol's connector on server B again and waits until it is connected. */
  carolBack(): Promise<CliProcess>;
}

/**
 * Starts a nats-server and servers A and B of cluster `name` (with `extra`
 * flags), alice on A and carol on B; carol stops (known to the cluster,
 * away), and alice's app sends her "n0" once A can store it. Disposing
 * stops everything and removes its files.
 */
export async function aliceAndAwayCarol(name: string, extra: string[] = []): Promise<AwayCarol> {
  await using stack = new AsyncDisposableStack();
  const nats = stack.use(await startNats());
  const pki = stack.use(await makePki({ clients: ["alice", "carol"] }));
  const tmp = stack.use(await tempDir(`sockkit-cluster-${name}-test-`)).path;
  const certs = pki.dir;
  const dir = (n: string) => join(tmp, n);
  const serve = clusterServer(certs, tmp, { urls: [nats.url], name, extra });
  const ports = { A: freePort(), B: freePort() };
  stack.use(await serve("A", ports.A));
  stack.use(await serve("B", ports.B));
  const alice = stack.use(startClient(certs, dir("alice"), "alice", ports.A));
  const carol = startClient(certs, dir("carol"), "carol", ports.B);
  await Promise.all([connected(alice), connected(carol)]);
  if (await stop(carol) !== 0) throw new Error(`carol's connector failed: ${carol.stderrText()}`);
  const aliceApp = await app(dir("alice"));
  stack.defer(() => aliceApp.close());
  await waitUntil(
    () => aliceApp.send("carol", "note", "n0", { ack: true }).then(() => true, () => false),
    { what: "A to know carol", timeoutMs: 20_000 },
  );
  const rest = stack.move();
  return {
    dir,
    aliceApp,
    async carolBack() {
      const back = startClient(certs, dir("carol"), "carol", ports.B);
      await connected(back);
      return back;
    },
    [Symbol.asyncDispose]: () => rest.disposeAsync(),
  };
}
