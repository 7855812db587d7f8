import assert from "node:assert/strict";
import { join } from "node:path";
import type { MsgHeader } from "./frame.ts";
import { PeerState } from "./peer.ts";
import { PubSubHub, PubSubRule, Subscriptions } from "./pubsub.ts";
import { tempDir } from "../../tests/harness/mod.ts";

Deno.test("pubsub rule: no rule allows everything; a section names types (or *) and clients (or *); a missing section allows any client", () => {
  const open = new PubSubRule();
  assert.ok(open.allows("publish", "anyone", "t"));
  assert.ok(open.allows("send", "a", "b"));
  const r = new PubSubRule({
    publish: { news: ["alice"], "*": ["*"] },
    send: { bob: ["alice"], "*": ["ops"] },
  }, "rule.json");
  assert.ok(r.allows("publish", "alice", "news"));
  assert.ok(!r.allows("publish", "bob", "news"));
  assert.ok(r.allows("publish", "bob", "other"));
  assert.ok(r.allows("subscribe", "carol", "news"));
  assert.ok(r.allows("send", "bob", "alice"));
  assert.ok(r.allows("send", "carol", "ops"));
  assert.ok(!r.allows("send", "carol", "alice"));
  assert.throws(
    () => r.check("send", "carol", "alice"),
    /Client "carol" may not send to client "alice" through the server: refused by the publish\/subscribe rule "rule.json"/,
  );
  assert.throws(() => new PubSubRule({ publish: { news: "alice" } } as never), /must be a list/);
});

Deno.test("pubsub subscriptions survive a restart and unsubscribe removes them", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const s = new Subscriptions(`${dir}/subscriptions.json`);
    await s.update("bob", ["news", "sport"], false);
    await s.update("carol", ["news"], false);
    await s.update("bob", ["sport"], true);
    assert.deepEqual([...s.subscribers("news")].sort(), ["bob", "carol"]);
    assert.deepEqual(s.subscribers("sport"), []);
    const again = new Subscriptions(`${dir}/subscriptions.json`);
    assert.deepEqual([...again.subscribers("news")].sort(), ["bob", "carol"]);
    assert.deepEqual(again.subscribers("sport"), []);
    assert.deepEqual(again.typesOf("bob"), ["news"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("pubsub subscriptions: a request that would pass 256 types per client is refused whole", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const s = new Subscriptions(`${dir}/subscriptions.json`);
    await s.update("bob", Array.from({ length: 255 }, (_, i) => `t${i}`), false);
    assert.throws(
      () => s.update("bob", ["t0", "one", "two"], false),
      /Client "bob" cannot subscribe to more than 256 types \(subscribed to 255; unsubscribe some first\)/,
    );
    assert.equal(s.typesOf("bob").length, 255, "none of the refused request's types was added");
    await s.update("bob", ["t0", "one"], false); // 256: allowed
    assert.equal(new Subscriptions(`${dir}/subscriptions.json`).typesOf("bob").length, 256);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("pubsub subscriptions: opening removes what a write cut short by a crash left (also an earlier version's subscriptions.json.tmp), and keeps the file", async () => {
  await using dir = await tempDir("sockkit-pubsub-test-");
  const path = join(dir.path, "subscriptions.json");
  await new Subscriptions(path).update("bob", ["news"], false);
  const leftover = `.subscriptions.json.${crypto.randomUUID()}.tmp`;
  Deno.writeTextFileSync(join(dir.path, leftover), `{"bob":["ne`); // a crash mid-write
  Deno.writeTextFileSync(join(dir.path, "subscriptions.json.tmp"), `{"bob":["ne`); // an earlier version's
  Deno.writeTextFileSync(join(dir.path, "notes.tmp"), "not ours");
  const s = new Subscriptions(path);
  assert.deepEqual(s.typesOf("bob"), ["news"]);
  assert.deepEqual([...Deno.readDirSync(dir.path)].map((e) => e.name).sort(), [
    "notes.tmp",
    "subscriptions.json",
  ]);
});

Deno.test("pubsub subscriptions: a write that fails is refused with the path and leaves no temporary file", async () => {
  await using dir = await tempDir("sockkit-pubsub-test-");
  const path = join(dir.path, "subscriptions.json");
  const s = new Subscriptions(path);
  Deno.mkdirSync(path); // what stands in the way of the rename
  await assert.rejects(
    s.update("bob", ["news"], false),
    new RegExp(`Cannot write "${path}": it is a directory`),
  );
  assert.deepEqual([...Deno.readDirSync(dir.path)].map((e) => e.name), ["subscriptions.json"]);
});

Deno.test("pubsub subscriptions: subscribers() gives the same frozen array until the type's subscriptions change, then a new one, the old one as it was", async () => {
  await using tmp = await tempDir("sockkit-pubsub-test-");
  const s = new Subscriptions(`${tmp.path}/subscriptions.json`);
  await s.update("bob", ["news"], false);
  const first = s.subscribers("news");
  assert.equal(s.subscribers("news"), first, "no copy per call");
  assert.ok(Object.isFrozen(first));
  await s.update("bob", ["news"], false); // already subscribed: no change
  assert.equal(s.subscribers("news"), first);
  await s.update("carol", ["news", "sport"], false);
  const second = s.subscribers("news");
  assert.notEqual(second, first);
  assert.deepEqual(first, ["bob"]);
  assert.deepEqual(second, ["bob", "carol"]);
  await s.update("bob", ["news"], true);
  assert.deepEqual(s.subscribers("news"), ["carol"]);
  assert.deepEqual(second, ["bob", "carol"], "replaced, never mutated");
  assert.deepEqual(s.subscribers("sport"), ["carol"]);
  await s.update("carol", ["sport"], true);
  assert.deepEqual(s.subscribers("sport"), []);
});

Deno.test("pubsub fan-out: a subscriber that leaves during it gets no copy and the others still get theirs", async () => {
  await using tmp = await tempDir("sockkit-pubsub-test-");
  const subscriptions = new Subscriptions(`${tmp.path}/subscriptions.json`);
  for (const c of ["bob", "carol", "dave"]) await subscriptions.update(c, ["news"], false);
  const peers = new Map<string, PeerState>();
  const leaving: Promise<void>[] = [];
  const hub = new PubSubHub({
    name: "server",
    rule: new PubSubRule(),
    subscriptions,
    route: (dst) => peers.get(dst)!,
    peer(name) {
      // carol unsubscribes while bob's copy is being stored (her turn comes after his).
      if (name === "bob" && leaving.length === 0) {
        leaving.push(subscriptions.update("carol", ["news"], true));
      }
      let p = peers.get(name);
      if (!p) peers.set(name, p = new PeerState(name, `${tmp.path}/${name}`, { fsync: false }));
      return p;
    },
  });
  try {
    const h: MsgHeader = { kind: "msg", type: "news", src: "alice", dst: "", id: "1" };
    await hub.publish("alice", h, "hello", new Uint8Array());
    await Promise.all(leaving);
    await hub.publish("alice", { ...h, id: "2" }, "again", new Uint8Array());
    const journaled = (name: string) => peers.get(name)?.stats.journaled ?? 0;
    assert.deepEqual(
      ["bob", "carol", "dave"].map((n) => [n, journaled(n)]),
      [["bob", 2], ["carol", 0], ["dave", 2]],
    );
  } finally {
    for (const p of peers.values()) await p.journal.close();
  }
});
