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

/** A directory sync that fails the next `failures.count` times (an I/O error), and otherwise really syncs. */
function flakySync(failures: { count: number }): (dir: string) => Promise<void> {
  return async (dir) => {
    if (failures.count > 0) {
      failures.count--;
      throw new Error("Input/output error (os error 5)");
    }
    using d = await Deno.open(dir, { read: true });
    await d.sync();
  };
}

Deno.test("pubsub subscriptions: a change whose directory sync fails is refused and undone, in memory and in the file", async (t) => {
  await using dir = await tempDir("sockkit-pubsub-test-");
  const path = join(dir.path, "subscriptions.json");
  const failures = { count: 0 };
  const s = new Subscriptions(path, { syncDirectory: flakySync(failures) });
  await s.update("bob", ["news"], false);
  const stored = () => JSON.parse(Deno.readTextFileSync(path));
  const undone = new RegExp(
    `^BrokerError: Cannot write "${path}" durably: syncing its directory failed: Input/output error \\(os error 5\\); the change was undone`,
  );
  await t.step(
    "a subscribe: bob is not subscribed after the refusal, nor after a restart",
    async () => {
      failures.count = 1;
      await assert.rejects(s.update("bob", ["sport"], false), undone);
      assert.deepEqual(s.typesOf("bob"), ["news"]);
      assert.deepEqual(s.subscribers("sport"), []);
      assert.deepEqual(stored(), { bob: ["news"] });
      assert.deepEqual(new Subscriptions(path).typesOf("bob"), ["news"]);
    },
  );
  await t.step(
    "an unsubscribe: bob stays subscribed, and missed nothing while it was written",
    async () => {
      failures.count = 1;
      const refused = s.update("bob", ["news"], true);
      // a message published while the unsubscribe is written is still stored for bob
      assert.deepEqual(s.subscribers("news"), ["bob"]);
      await assert.rejects(refused, undone);
      assert.ok(s.has("news", "bob"));
      assert.deepEqual(s.subscribers("news"), ["bob"]);
      assert.deepEqual(stored(), { bob: ["news"] });
    },
  );
  await t.step(
    "writing back fails too: memory is undone and the refusal says the file may keep it",
    async () => {
      failures.count = 2;
      await assert.rejects(
        s.update("carol", ["news"], false),
        /the change was undone, but writing the previous subscriptions back failed too: Cannot write ".*" durably: .*\(after a restart the file may still hold it; check the disk\)/,
      );
      assert.deepEqual(s.subscribers("news"), ["bob"]);
    },
  );
  await t.step(
    "changes made while a refused one was being written stay, the refused one does not",
    async () => {
      failures.count = 1;
      const refused = s.update("carol", ["news"], false);
      const again = s.update("carol", ["news", "sport"], false); // asks for news too
      const other = s.update("dave", ["weather"], false);
      await assert.rejects(refused, undone);
      await again;
      await other;
      assert.deepEqual(s.typesOf("carol"), ["news", "sport"]);
      assert.deepEqual(s.typesOf("dave"), ["weather"]);
      assert.deepEqual(stored(), { bob: ["news"], carol: ["news", "sport"], dave: ["weather"] });
      assert.deepEqual([...Deno.readDirSync(dir.path)].map((e) => e.name), ["subscriptions.json"]);
    },
  );
});

Deno.test("pubsub subscriptions: the 256-type cap counts an unsubscription once stored: a subscription sent right after one waits for it, and is refused if it was", async () => {
  await using dir = await tempDir("sockkit-pubsub-test-");
  const path = join(dir.path, "subscriptions.json");
  const failures = { count: 0 };
  const s = new Subscriptions(path, { syncDirectory: flakySync(failures) });
  const types = (from: number, n: number) => Array.from({ length: n }, (_, i) => `t${from + i}`);
  await s.update("c", types(0, 256), false);
  // the unsubscription is refused: the subscription sent meanwhile is refused too, at its turn
  failures.count = 1;
  const refused = s.update("c", types(0, 10), true);
  const waiting = s.update("c", types(256, 10), false);
  assert.deepEqual(s.subscribers("t256"), [], "not applied before its turn");
  await assert.rejects(refused, /the change was undone/);
  await assert.rejects(waiting, /cannot subscribe to more than 256 types/);
  assert.equal(s.typesOf("c").length, 256);
  assert.equal(new Subscriptions(path).typesOf("c").length, 256);
  // stored this time: the subscription sent right after it lands
  const stored = s.update("c", types(0, 10), true);
  const lands = s.update("c", types(256, 10), false);
  await stored;
  await lands;
  assert.ok(s.has("t256", "c") && !s.has("t0", "c"));
  assert.equal(new Subscriptions(path).typesOf("c").length, 256);
  // with nothing waiting, over the cap is refused at once
  assert.throws(() => s.update("c", ["one more"], false), /cannot subscribe to more than 256/);
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

Deno.test("pubsub fan-out: a subscriber whose unsubscription is being stored still gets copies (a refusal would keep it subscribed), none once it is stored", async () => {
  await using tmp = await tempDir("sockkit-pubsub-test-");
  // the directory sync of the unsubscription waits until the test lets it go
  const gate = Promise.withResolvers<void>();
  let held = false;
  const subscriptions = new Subscriptions(`${tmp.path}/subscriptions.json`, {
    syncDirectory: async (dir) => {
      if (held) await gate.promise;
      using d = await Deno.open(dir, { read: true });
      await d.sync();
    },
  });
  for (const c of ["bob", "carol", "dave"]) await subscriptions.update(c, ["news"], false);
  const peers = new Map<string, PeerState>();
  const hub = new PubSubHub({
    name: "server",
    rule: new PubSubRule(),
    subscriptions,
    route: (dst) => peers.get(dst)!,
    peer(name) {
      let p = peers.get(name);
      if (!p) peers.set(name, p = new PeerState(name, `${tmp.path}/${name}`, { fsync: false }));
      return p;
    },
  });
  try {
    held = true;
    const leaving = subscriptions.update("carol", ["news"], true);
    const h: MsgHeader = { kind: "msg", type: "news", src: "alice", dst: "", id: "1" };
    await hub.publish("alice", h, "hello", new Uint8Array());
    gate.resolve();
    await leaving;
    await hub.publish("alice", { ...h, id: "2" }, "again", new Uint8Array());
    const journaled = (name: string) => peers.get(name)?.stats.journaled ?? 0;
    assert.deepEqual(
      ["bob", "carol", "dave"].map((n) => [n, journaled(n)]),
      [["bob", 2], ["carol", 1], ["dave", 2]],
    );
  } finally {
    for (const p of peers.values()) await p.journal.close();
  }
});

Deno.test("pubsub subscriptions: one client's flood of changes waits at most 16 deep, refused past it, and another client's change is stored by group commit within two writes", async () => {
  await using tmp = await tempDir("sockkit-pubsub-group-");
  const path = join(tmp.path, "subscriptions.json");
  let writes = 0;
  const s = new Subscriptions(path, {
    syncDirectory: async () => {
      writes++;
      await new Promise((r) => setTimeout(r, 5));
    },
  });
  const flood = Array.from(
    { length: 1000 },
    (_, i) => {
      try {
        return s.update("alice", [`t${i % 50}`], i % 2 === 1).then(() => "ok", (e) => e.message);
      } catch (err) {
        return Promise.resolve((err as Error).message);
      }
    },
  );
  const before = writes;
  await s.update("bob", ["news"], false);
  assert.ok(writes - before <= 2, `bob's change took ${writes - before} writes`);
  const results = await Promise.all(flood);
  assert.equal(results.filter((r) => r === "ok").length, 16);
  const refused = results.filter((r) => r !== "ok");
  assert.equal(refused.length, 984);
  assert.match(
    refused[0]!,
    /Client "alice" has too many subscription changes waiting to be stored \(16, the most is 16\)/,
  );
  assert.ok(writes <= 3, `${writes} writes for 17 changes`);
  const stored = JSON.parse(await Deno.readTextFile(path));
  assert.deepEqual(stored.bob, ["news"]);
  // the 16 accepted alternate subscribe t0, unsubscribe t1, ...: the subscriptions stay
  assert.deepEqual(stored.alice.sort(), ["t0", "t10", "t12", "t14", "t2", "t4", "t6", "t8"]);
  await s.update("alice", ["more"], false); // room again once stored
});
