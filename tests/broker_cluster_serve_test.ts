/**
 * Three `broker serve --cluster` processes on one real `nats-server -js`:
 * forwarding between servers, one name once in the cluster, an away
 * client's backlog surviving its server being killed, and pub/sub with
 * subscribers on two servers.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { connect } from "nats";
import { makePki, runCli, startNats, tempDir, waitUntil, withNats } from "./harness/mod.ts";
import { delay } from "../core/async/mod.ts";
import type { Message } from "../core/broker/mod.ts";
import { app, connected, freePort, startClient, stop } from "./broker_helpers.ts";
import { clusterServer } from "./_cluster/serve.ts";

withNats.test("broker cluster: a client on server A sends to a client on server C (acknowledged, delivered once) and gets answers to its requests; the same name is refused on a second server; 1,000 messages wait for the away client while C is killed and reach it, failed over to B, in order, once; pub/sub reaches subscribers on two servers", async () => {
  await using nats = await startNats();
  await using pki = await makePki({ clients: ["alice", "bob", "carol"] });
  await using tmp = await tempDir("sockkit-cluster-test-");
  const dir = (n: string) => join(tmp.path, n);
  const ports = { A: freePort(), B: freePort(), C: freePort() };
  const start = clusterServer(pki.dir, tmp.path, { urls: [nats.url], name: "test" });
  const serve = (name: keyof typeof ports) => start(name, ports[name]);
  await using _a = await serve("A");
  await using _b = await serve("B");
  const c = await serve("C");
  try {
    // Clients keep the default server connector name: any server of the cluster serves them.
    const client = (name: string, server: "A" | "B" | "C", state = name, extra: string[] = []) =>
      startClient(pki.dir, dir(state), name, ports[server], extra);
    await using alice = client("alice", "A");
    await using bob = client("bob", "A");
    let carol = client("carol", "C");
    await Promise.all([connected(alice), connected(bob), connected(carol)]);

    // A → C through NATS: acknowledged once stored, delivered once.
    const atCarol: Message[] = [];
    let carolApp = await app(dir("carol"));
    await carolApp.listen("note", (m) => void atCarol.push(m));
    await using aliceApp = await app(dir("alice"));
    await aliceApp.send("carol", "note", "hello", { ack: true });
    await waitUntil(() => atCarol.length === 1, { what: "carol's note", timeoutMs: 20_000 });
    assert.equal(atCarol[0]!.src, "alice");
    assert.equal(atCarol[0]!.data, "hello");
    // A request across servers gets its answer back the same way.
    await carolApp.listen("ping", (m) => {
      void carolApp.send(m.src, "pong", `pong ${m.data}`, { replyTo: m.id });
    });
    const answer = await aliceApp.request("carol", "ping", "1", { timeoutMs: 20_000 });
    assert.equal(answer.data, "pong 1");
    assert.equal(answer.src, "carol");

    // A name no server of the cluster has seen is refused, as on one server.
    await assert.rejects(
      aliceApp.send("nobody", "note", "lost?", { ack: true }),
      /Unknown destination "nobody": no client connector of that name has ever connected to a server of cluster "test"/,
    );

    // Every server lists every client and where it is.
    const peers = await waitUntil(async () => {
      const r = await runCli(["broker", "peers", "--dir", dir("B"), "--json"]);
      const rows = JSON.parse(r.stdout) as Array<{ name: string; server: string }>;
      const at = Object.fromEntries(rows.map((p) => [p.name, p.server]));
      return at.carol === "C" && at.alice === "A" ? at : undefined;
    }, { what: "B to list the cluster's clients" });
    assert.equal(peers.bob, "A");
    const shown = await runCli(["broker", "peers", "--dir", dir("B")]);
    assert.match(shown.stdout, /SERVER/);
    assert.match(shown.stdout, /^carol\s+connected\s.*\sC\s*$/m);

    // The same name on another server is refused (the twin retries: the holder may be a server
    // just killed), and the first link stays.
    {
      await using twin = client("carol", "B", "carol-twin");
      await twin.waitForLine(/already connected to server \\?"C\\?"/, 20_000);
      await twin.waitForLine(/cannot reach server .*retryMs=/, 20_000);
    }

    // carol goes away; 1,000 messages wait for her; her server is killed.
    carolApp.close();
    assert.equal(await stop(carol), 0);
    await waitUntil(async () => {
      const r = await runCli(["broker", "peers", "--dir", dir("A"), "--json"]);
      return !(JSON.parse(r.stdout) as Array<{ name: string; server: string }>)
        .some((p) => p.name === "carol" && p.server !== "");
    }, { what: "carol to leave the cluster's list" });
    const texts = Array.from({ length: 1000 }, (_, i) => `m${i}`);
    for (let i = 0; i < texts.length; i += 100) {
      await Promise.all(
        texts.slice(i, i + 100).map((t) => aliceApp.send("carol", "note", t, { ack: true })),
      );
    }
    c.kill("SIGKILL");
    await c.status;

    // carol comes back, C first then B: she fails over to B and gets all 1,000, in order, once.
    carol = client("carol", "C", "carol", ["--server", `127.0.0.1:${ports.B}`]);
    await connected(carol);
    // Before: the log named the first --server (C, dead) as the one connected to.
    await carol.waitForLine(new RegExp(`connected to server.*127\\.0\\.0\\.1:${ports.B}\\b`));
    carolApp = await app(dir("carol"));
    const back: Message[] = [];
    await carolApp.listen("note", (m) => void back.push(m));
    await waitUntil(() => back.length >= 1000, { what: "the 1,000 messages", timeoutMs: 60_000 });
    await delay(500); // a duplicate would arrive now
    assert.deepEqual(back.map((m) => m.data), texts);
    assert.equal(atCarol.length, 1);

    // pub/sub: subscribers on A (bob) and B (carol); a publication on A reaches both.
    for (const n of ["bob", "carol"]) {
      const r = await runCli(["broker", "subscribe", "--dir", dir(n), "--type", "news"]);
      assert.equal(r.code, 0, r.stderr);
    }
    await using bobApp = await app(dir("bob"));
    const atBob: Message[] = [];
    await bobApp.listen("news", (m) => void atBob.push(m));
    const news: Message[] = [];
    await carolApp.listen("news", (m) => void news.push(m));
    await aliceApp.publish("news", "extra", { ack: true });
    await waitUntil(() => atBob.length === 1 && news.length === 1, {
      what: "the publication on A and B",
      timeoutMs: 20_000,
    });
    for (const m of [atBob[0]!, news[0]!]) {
      assert.equal(m.src, "alice");
      assert.equal(m.data, "extra");
    }
    carolApp.close();
    assert.equal(await stop(carol), 0);
  } finally {
    c.kill("SIGKILL");
    await c.status;
  }
});

Deno.test("broker serve --cluster: without --cluster-name it is a usage error; with no nats-server it says where it looked", async () => {
  await using pki = await makePki({ clients: [] });
  await using tmp = await tempDir("sockkit-cluster-cli-test-");
  const base = ["broker", "serve", "--certs", pki.dir, "--dir", tmp.path, "--port", "0"];
  const noName = await runCli([...base, "--cluster", "nats://127.0.0.1:4222"]);
  assert.equal(noName.code, 2, noName.stderr);
  assert.match(noName.stderr, /Missing --cluster-name/);
  const port = freePort();
  const noNats = await runCli([
    ...base,
    "--cluster",
    `nats://127.0.0.1:${port}`,
    "--cluster-name",
    "test",
  ]);
  assert.notEqual(noNats.code, 0);
  assert.match(noNats.stderr, new RegExp(`no nats-server reachable at nats://127.0.0.1:${port}`));
});

withNats.test("broker bench --cluster: prints the cluster's acknowledged and cross-server rates next to JetStream and NATS core measured in the same run, and leaves no stream behind on the nats-server", async () => {
  await using nats = await startNats();
  const r = await runCli(["broker", "bench", "--cluster", nats.url, "--messages", "300", "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const { rows } = JSON.parse(r.stdout) as {
    rows: Array<{ figure: string; value: number; anchor: string; anchorValue: number }>;
  };
  assert.deepEqual(rows.map((x) => x.anchor), [
    "JetStream publish, 256 in flight",
    "NATS core publish to a subscriber",
  ]);
  for (const row of rows) {
    assert.ok(row.value > 0 && row.anchorValue > 0, JSON.stringify(row));
  }
  const nc = await connect({ servers: nats.url });
  try {
    const left: string[] = [];
    for await (const name of (await nc.jetstreamManager()).streams.names()) left.push(name);
    assert.deepEqual(left, []);
  } finally {
    await nc.close();
  }
});
