import assert from "node:assert/strict";
import { join } from "node:path";
import { runCli, tempDir, waitUntil } from "./harness/mod.ts";
import type { BrokerClient } from "../core/broker/mod.ts";
import { app, brokerSite, connected, stop } from "./broker_helpers.ts";

const TYPES = ["bulk", "normal", "urgent"] as const;
const EACH = 200;

/** Sends `EACH` messages of each type, interleaved (bulk 0, normal 0, urgent 0, bulk 1...), from the server to alice. */
async function sendInterleaved(sdir: string): Promise<void> {
  await using a = await app(sdir);
  for (let i = 0; i < EACH; i++) {
    for (const type of TYPES) await a.send("alice", type, { i });
  }
  await a.sync();
}

/** Listens to every type on one connection and records `TYPE:i` in the order they arrive. */
async function listenAll(a: BrokerClient, into: string[]): Promise<void> {
  for (const type of TYPES) {
    await a.listen(type, (m) => void into.push(`${m.type}:${(m.data as { i: number }).i}`));
  }
}

/** What alice must see: every urgent message in order, then every normal one, then every bulk one. */
const BY_PRIORITY = ["urgent", "normal", "bulk"].flatMap((t) =>
  Array.from({ length: EACH }, (_, i) => `${t}:${i}`)
);

/** Waits for every message at alice, then checks they came highest priority first, each in order, once. */
async function arrivesByPriority(alice: BrokerClient, got: string[]): Promise<void> {
  await waitUntil(() => got.length >= BY_PRIORITY.length, {
    timeoutMs: 60_000,
    what: `${BY_PRIORITY.length} messages (got ${got.length})`,
  });
  await alice.sync();
  assert.deepEqual(got, BY_PRIORITY);
}

async function blockAlice(sdir: string): Promise<void> {
  const r = await runCli(["broker", "block", "alice", "--dir", sdir]);
  assert.equal(r.code, 0, r.stderr);
}

Deno.test("broker priorities: messages queued while the peer is away leave highest priority first, in order within a priority, once", async () => {
  await using site = await brokerSite("sockkit-broker-prio-");
  const { sdir, cdir } = site;
  await using link = await site.link(["--priority", "urgent=10", "--priority", "bulk=-5"]);
  await using alice = await app(cdir);
  const got: string[] = [];
  await listenAll(alice, got);
  await blockAlice(sdir);
  await sendInterleaved(sdir);
  assert.equal(got.length, 0, "nothing reaches a blocked peer");
  const r = await runCli(["broker", "unblock", "alice", "--dir", sdir]);
  assert.equal(r.code, 0, r.stderr);
  await arrivesByPriority(alice, got);
  assert.deepEqual(await link.stop(), { client: 0, server: 0 });
});

Deno.test("broker priorities: the order of a journal survives a restart of the sending connector (aioconnectors send_message_types_priorities, smaller first)", async () => {
  await using site = await brokerSite("sockkit-broker-prio-");
  const { sdir, cdir } = site;
  const aio = join(site.root, "aio.json");
  await Deno.writeTextFile(
    aio,
    JSON.stringify({ is_server: true, send_message_types_priorities: { urgent: -1, bulk: 3 } }),
  );
  await using client = site.client();
  await using alice = await app(cdir);
  const got: string[] = [];
  await listenAll(alice, got);
  {
    await using server = await site.server(["--config", aio]);
    await connected(client);
    await blockAlice(sdir);
    await sendInterleaved(sdir);
    assert.equal(await stop(server), 0);
  }
  // restarted without priorities: what was queued keeps the priority it was queued with
  await using server = await site.server();
  await arrivesByPriority(alice, got);
  assert.equal(await stop(client), 0);
  assert.equal(await stop(server), 0);
});

Deno.test("broker priorities: a malformed --priority is a usage error naming the value", async () => {
  await using tmp = await tempDir("sockkit-broker-prio-");
  const r = await runCli([
    "broker",
    "serve",
    "--dir",
    tmp.path,
    "--port",
    "0",
    "--priority",
    "urgent=high",
  ]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--priority.*urgent=high/);
});
