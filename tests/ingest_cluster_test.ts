import assert from "node:assert/strict";
import { createCluster } from "redis";
import { type RedisServer, startRedisServer } from "../core/demo/redis_process.ts";
import { ingestFixture } from "./ingest_fixture.ts";
import { delay } from "../core/async/mod.ts";

function portFree(port: number): boolean {
  try {
    Deno.listen({ hostname: "127.0.0.1", port }).close();
    return true;
  } catch {
    return false;
  }
}

/** A port whose cluster bus port (+10000) is free too. */
function clusterPort(taken: Set<number>): number {
  for (let i = 0; i < 200; i++) {
    const p = 20000 + Math.floor(Math.random() * 20000);
    if (!taken.has(p) && portFree(p) && portFree(p + 10000)) {
      taken.add(p);
      return p;
    }
  }
  throw new Error("No free port pair for a cluster node");
}

async function startCluster(): Promise<{ urls: string[] } & AsyncDisposable> {
  const nodes: RedisServer[] = [];
  const dispose = async () => {
    for (const n of nodes) await n[Symbol.asyncDispose]();
  };
  try {
    const taken = new Set<number>();
    for (let i = 0; i < 3; i++) {
      nodes.push(
        await startRedisServer({
          port: clusterPort(taken),
          args: ["--cluster-enabled", "yes", "--cluster-node-timeout", "2000"],
        }),
      );
    }
    const addrs = nodes.map((n) => `127.0.0.1:${n.port}`);
    const out = await new Deno.Command("redis-cli", {
      args: ["--cluster", "create", ...addrs, "--cluster-yes"],
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!out.success) throw new Error(new TextDecoder().decode(out.stdout).slice(-500));
    // Wait until every node reports the cluster as ok.
    for (const n of nodes) {
      for (let i = 0;; i++) {
        const info = await new Deno.Command("redis-cli", {
          args: ["-p", String(n.port), "cluster", "info"],
          stdout: "piped",
        }).output();
        if (new TextDecoder().decode(info.stdout).includes("cluster_state:ok")) break;
        if (i > 200) throw new Error(`Cluster node ${n.port} never became ready`);
        await delay(50);
      }
    }
    return { urls: nodes.map((n) => n.url), [Symbol.asyncDispose]: dispose };
  } catch (err) {
    await dispose();
    throw err;
  }
}

Deno.test("ingest --redis-cluster writes to a 3-node Redis Cluster", async () => {
  await using cluster = await startCluster();
  await using f = await ingestFixture({ redisCluster: cluster.urls });
  const objs = Array.from({ length: 300 }, (_, i) => ({
    [`user:${i}`]: { name: `u${i}`, n: i },
    [`flag:${i}`]: i % 2 === 0,
  }));
  const r = await f.send(objs, { ack: true });
  assert.equal(r.acknowledged, 300);
  const client = createCluster({ rootNodes: cluster.urls.map((url) => ({ url })) });
  client.on("error", () => {});
  await client.connect();
  try {
    assert.deepEqual({ ...(await client.hGetAll("user:123")) }, { name: "u123", n: "123" });
    assert.equal(await client.get("flag:124"), "true");
    let keys = 0;
    for (const node of client.masters) {
      const c = await client.nodeClient(node);
      keys += await c.dbSize();
    }
    assert.equal(keys, 600);
    assert.equal(client.masters.length, 3);
  } finally {
    await client.close();
  }
});
