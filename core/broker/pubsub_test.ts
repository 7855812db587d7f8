import assert from "node:assert/strict";
import { PubSubRule, Subscriptions } from "./pubsub.ts";

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
