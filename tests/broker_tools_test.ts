import assert from "node:assert/strict";
import { join } from "node:path";
import { runCli, tempDir, waitUntil } from "./harness/mod.ts";
import { RecordLog } from "../core/storage/mod.ts";
import { app, brokerSite, connected, stop } from "./broker_helpers.ts";

const PREFIX = "sockkit-broker-tools-";

async function cliJson(args: string[]): Promise<unknown> {
  const r = await runCli(args);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}

type Queues = { journals: Array<{ peer: string; messages: number; bytes: number }> };

function journalTo(q: Queues, peer: string): number {
  return q.journals.find((j) => j.peer === peer)?.messages ?? 0;
}

Deno.test("broker tools: peers, queues, ping, block/unblock and stop against running connectors", async (t) => {
  await using site = await brokerSite(PREFIX);
  const { sdir, cdir, port } = site;
  await using server = await site.server(["--queue-for-unknown"]);
  let client = site.client(["--heartbeat", "1s"]);
  await connected(client);

  await t.step("peers lists the connected client with its address and certificate", async () => {
    const r = await runCli(["broker", "peers", "--dir", sdir]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^PEER\s+STATE\s+ADDRESS\s+CERT CN/m);
    assert.match(r.stdout, /^alice\s+connected\s+127\.0\.0\.1:\d+\s+alice\s+\d{4}-/m);
    const peers = await cliJson(["broker", "peers", "--dir", sdir, "--json"]) as Array<
      Record<string, unknown>
    >;
    assert.equal(peers[0]!.name, "alice");
    assert.equal(peers[0]!.connected, true);
  });

  await t.step(
    "status names the running connector, its role, port and connected peers",
    async () => {
      const r = await runCli(["broker", "status", "--dir", sdir]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^role\s+server$/m);
      assert.match(r.stdout, new RegExp(`^port\\s+${port}$`, "m"));
      assert.match(r.stdout, /^peers\s+1$/m);
      const s = await cliJson(["broker", "status", "--dir", cdir, "--json"]) as Record<
        string,
        unknown
      >;
      assert.equal(s.name, "alice");
      assert.equal(s.role, "client");
      assert.equal(s.peers, 1);
      assert.equal(s.journaled, 0);
    },
  );

  await t.step("ping reports round trips", async () => {
    const r = await runCli([
      "broker",
      "ping",
      "alice",
      "--dir",
      sdir,
      "--count",
      "3",
      "--interval",
      "10ms",
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.match(/^reply from alice: seq=\d time=[\d.]+ ms$/gm)?.length, 3);
    assert.match(r.stdout, /3 round trips, min\/avg\/max = [\d.]+\/[\d.]+\/[\d.]+ ms/);
  });

  await t.step("queues grows while the client is away and is empty after it returns", async () => {
    assert.equal(await stop(client), 0);
    await using a = await app(sdir);
    for (let i = 0; i < 100; i++) await a.send("alice", "seq", { i });
    await a.sync();
    const r = await runCli(["broker", "queues", "--dir", sdir]);
    assert.match(r.stdout, /^journal to alice\s+100\s+\d+$/m);
    for (let i = 0; i < 50; i++) await a.send("alice", "seq", { i });
    await a.sync();
    assert.equal(
      journalTo(await cliJson(["broker", "queues", "--dir", sdir, "--json"]) as Queues, "alice"),
      150,
    );
    client = site.client();
    await connected(client);
    await waitUntil(
      async () =>
        journalTo(
          await cliJson(["broker", "queues", "--dir", sdir, "--json"]) as Queues,
          "alice",
        ) === 0,
      {
        timeoutMs: 20_000,
        intervalMs: 200,
      },
    );
    // the client queued them by type (nobody listens there yet)
    const cq = await cliJson(["broker", "queues", "--dir", cdir, "--json"]) as {
      types: Array<{ type: string; messages: number }>;
    };
    assert.deepEqual(cq.types.find((q) => q.type === "seq")?.messages, 150);
  });

  await t.step("block stops delivery; unblock resumes it with nothing lost", async () => {
    await using c = await app(cdir);
    const got: number[] = [];
    await c.listen("blk", (m) => void got.push((m.data as { i: number }).i));
    const b = await runCli(["broker", "block", "alice", "--dir", sdir]);
    assert.equal(b.code, 0, b.stderr);
    assert.match(b.stdout, /blocked alice/);
    await using a = await app(sdir);
    for (let i = 0; i < 20; i++) await a.send("alice", "blk", { i });
    await a.sync();
    const q = await cliJson(["broker", "queues", "--dir", sdir, "--json"]) as Queues;
    assert.equal(journalTo(q, "alice"), 20);
    assert.equal(got.length, 0);
    const u = await runCli(["broker", "unblock", "alice", "--dir", sdir]);
    assert.equal(u.code, 0, u.stderr);
    await waitUntil(() => got.length >= 20, { timeoutMs: 20_000 });
    assert.deepEqual(got, Array.from({ length: 20 }, (_, i) => i));
  });

  await t.step("stop exits the connector with code 0 and keeps its journal", async () => {
    await using a = await app(sdir);
    for (let i = 0; i < 10; i++) await a.send("bob", "later", { i });
    await a.sync();
    const r = await runCli(["broker", "stop", "--dir", sdir]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((await server.status).code, 0);
    await using journal = await RecordLog.open(join(sdir, "journal", "bob"), { name: "journal" });
    assert.equal(journal.count, 10);
  });
  assert.equal(await stop(client), 0);
});

Deno.test("broker tools: revoke disconnects the client now and refuses its reconnection", async () => {
  await using site = await brokerSite(PREFIX);
  const { sdir } = site;
  await using link = await site.link();
  const { server, client } = link;
  const r = await runCli(["broker", "revoke", "alice", "--dir", sdir]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /revoked alice and disconnected it/);
  await server.waitForLine(/refused client.*CN=alice.*revoked/);
  assert.equal((await client.status).code, 1, "a revoked client stops retrying");
  assert.match(
    client.stderrText(),
    /Refused by the server: certificate of "alice" refused: .*revoked/,
  );
  const peers = await cliJson(["broker", "peers", "--dir", sdir, "--json"]) as Array<
    { name: string; connected: boolean }
  >;
  assert.equal(peers.find((p) => p.name === "alice")?.connected, false);
  assert.equal(await stop(server), 0);
});

Deno.test("broker tools: send to a client name that never connected is refused unless --queue-for-unknown", async () => {
  await using site = await brokerSite(PREFIX);
  const sendToNobody = () =>
    runCli(["broker", "send", "--dir", site.sdir, "--to", "nobody", "--type", "t", "--text", "x"]);
  {
    await using server = await site.server();
    const r = await sendToNobody();
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /Unknown destination "nobody": no client connector of that name has ever connected/,
    );
    assert.equal(await stop(server), 0);
  }
  await using server = await site.server(["--queue-for-unknown"]);
  const r = await sendToNobody();
  assert.equal(r.code, 0, r.stderr);
  assert.equal(await stop(server), 0);
});

Deno.test("broker tools: every command with no connector running says so in one line and exits 1", async (t) => {
  await using tmp = await tempDir(PREFIX);
  for (
    const args of [
      ["peers"],
      ["queues"],
      ["status"],
      ["ping", "alice"],
      ["block", "alice"],
      ["unblock", "alice"],
      ["revoke", "alice"],
      ["stop"],
      ["send", "--type", "t", "--text", "x"],
      ["listen", "--type", "t"],
      ["request", "--type", "t"],
    ]
  ) {
    await t.step(args[0]!, async () => {
      const r = await runCli(["broker", ...args, "--dir", tmp.path]);
      assert.equal(r.code, 1);
      assert.equal(r.stdout, "");
      const lines = r.stderr.trim().split("\n");
      assert.equal(lines.length, 1, r.stderr);
      assert.match(
        lines[0]!,
        /^sockkit: Cannot reach the connector socket ".*broker\.sock": no connector is running there/,
      );
    });
  }
});
