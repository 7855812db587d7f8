import assert from "node:assert/strict";
import { join } from "node:path";
import { PubSubRule, Subscriptions } from "./pubsub.ts";
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
    assert.deepEqual(s.subscribers("news").sort(), ["bob", "carol"]);
    assert.deepEqual(s.subscribers("sport"), []);
    const again = new Subscriptions(`${dir}/subscriptions.json`);
    assert.deepEqual(again.subscribers("news").sort(), ["bob", "carol"]);
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

Deno.test("pubsub subscriptions: opening removes what a write cut short by a crash left, and keeps the file", async () => {
  await using dir = await tempDir("sockkit-pubsub-test-");
  const path = join(dir.path, "subscriptions.json");
  await new Subscriptions(path).update("bob", ["news"], false);
  const leftover = `.subscriptions.json.${crypto.randomUUID()}.tmp`;
  Deno.writeTextFileSync(join(dir.path, leftover), `{"bob":["ne`); // a crash mid-write
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
