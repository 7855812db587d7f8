/**
 * `broker serve --cluster` processes on a real `nats-server -js`: a file for
 * a client connected to another server travels through NATS, in chunks of
 * 1 MiB, when the nats-server's max_payload takes them; otherwise the
 * sender is told at once why and what to do.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { makePki, startNats, tempDir, withNats } from "./harness/mod.ts";
import { app, connected, freePort, startClient, stop } from "./broker_helpers.ts";
import { clusterServer } from "./_cluster/serve.ts";

/** alice on server A, carol on server B storing files of type "docs" in `DIR/in`; runs `body`. */
async function acrossServers(
  config: string | undefined,
  body: (
    send: (size: number) => Promise<string>,
    received: () => Promise<string[]>,
  ) => Promise<void>,
): Promise<void> {
  await using nats = await startNats(config === undefined ? {} : { config });
  await using pki = await makePki({ clients: ["alice", "carol"] });
  await using tmp = await tempDir("sockkit-cluster-files-test-");
  const dir = (n: string) => join(tmp.path, n);
  const ports = { A: freePort(), B: freePort() };
  const start = clusterServer(pki.dir, tmp.path, { urls: [nats.url], name: "files" });
  await using _a = await start("A", ports.A);
  await using _b = await start("B", ports.B);
  await Deno.mkdir(dir("in"));
  await using alice = startClient(pki.dir, dir("alice"), "alice", ports.A);
  const carol = startClient(pki.dir, dir("carol"), "carol", ports.B, [
    "--file-dir",
    `docs=${dir("in")}`,
  ]);
  try {
    await Promise.all([connected(alice), connected(carol)]);
    await using aliceApp = await app(dir("alice"));
    const send = async (size: number) => {
      const path = join(tmp.path, `f${size}`);
      const bytes = new Uint8Array(size).map((_, i) => (i * 7) % 251);
      await Deno.writeFile(path, bytes);
      const r = await aliceApp.sendFile("carol", "docs", path, { timeoutMs: 30_000 });
      assert.equal(r.bytes, size);
      assert.deepEqual(await Deno.readFile(r.path), bytes);
      return r.path;
    };
    const received = async () => {
      const names: string[] = [];
      for await (const e of Deno.readDir(dir("in"))) names.push(e.name);
      return names.sort();
    };
    await body(send, received);
    aliceApp.close();
  } finally {
    assert.equal(await stop(carol), 0);
  }
}

withNats.test("broker cluster files: with nats-server's default max_payload (1 MB) a file of one chunk reaches a client on another server; a larger one is refused at once with the bound and what to do, and nothing of it is stored", async () => {
  await acrossServers(undefined, async (send, received) => {
    assert.match(await send(100_000), /f100000$/);
    await assert.rejects(
      send(3_000_000),
      /Cannot send file ".*f3000000" to "carol": .*do not fit the cluster's nats-server, which takes messages of at most 1048576 bytes \(its max_payload\): set max_payload: 8MB/,
    );
    assert.deepEqual(await received(), ["f100000"]);
  });
});

withNats.test("broker cluster files: with max_payload 2MB a 3 MB file reaches a client on another server, whole and checksummed", async () => {
  await acrossServers("max_payload: 2MB\n", async (send, received) => {
    await send(3_000_000);
    assert.deepEqual(await received(), ["f3000000"]);
  });
});
