/** Publish/subscribe, client-to-client sends through the server, the rule, and tags. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { makePki, runCli, spawnCli, tempDir, waitUntil } from "./harness/mod.ts";
import type { Message } from "../core/broker/mod.ts";
import { app, connected, freePort, startClient, startServer, stop } from "./broker_helpers.ts";

const texts = (ms: Message[]) => ms.map((m) => m.data);

Deno.test("broker pub/sub: a published message reaches every subscribed client through the server; an away subscriber gets its messages on return, in order, once; clients send to each other through the server; tags pass through and filter listeners", async () => {
  await using pki = await makePki({ clients: ["alice", "bob", "carol"] });
  await using tmp = await tempDir("sockkit-pubsub-test-");
  const port = freePort();
  const dir = (n: string) => join(tmp.path, n);
  await using server = await startServer(pki.dir, dir("server"), port);
  await using alice = startClient(pki.dir, dir("alice"), "alice", port);
  await using bob = startClient(pki.dir, dir("bob"), "bob", port);
  let carol = startClient(pki.dir, dir("carol"), "carol", port);
  try {
    await Promise.all([connected(alice), connected(bob), connected(carol)]);
    for (const n of ["bob", "carol"]) {
      const r = await runCli(["broker", "subscribe", "--dir", dir(n), "--type", "news"]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /subscribed to news/);
    }
    await using bobApp = await app(dir("bob"));
    const atBob: Message[] = [];
    await bobApp.listen("news", (m) => void atBob.push(m));
    const atCarol: Message[] = [];
    {
      await using carolApp = await app(dir("carol"));
      await carolApp.listen("news", (m) => void atCarol.push(m));

      const pub = await runCli([
        "broker",
        "publish",
        "--dir",
        dir("alice"),
        "--type",
        "news",
        "--text",
        "first",
        "--tag",
        "t1",
        "--ack",
      ]);
      assert.equal(pub.code, 0, pub.stderr);
      assert.match(pub.stdout, /published and acknowledged/);
      await waitUntil(() => atBob.length === 1 && atCarol.length === 1, {
        what: "the first publication",
        timeoutMs: 30_000,
      });
      for (const m of [atBob[0]!, atCarol[0]!]) {
        assert.equal(m.src, "alice");
        assert.equal(m.data, "first");
        assert.equal(m.tag, "t1");
      }
    }

    // carol goes away; what is published meanwhile is stored for her (the ack says so)
    assert.equal(await stop(carol), 0);
    await using aliceApp = await app(dir("alice"));
    for (const t of ["second", "third", "fourth"]) await aliceApp.publish("news", t, { ack: true });
    await waitUntil(() => atBob.length === 4, { what: "bob's publications", timeoutMs: 30_000 });
    assert.deepEqual(texts(atBob), ["first", "second", "third", "fourth"]);
    assert.deepEqual(texts(atCarol), ["first"]);

    carol = startClient(pki.dir, dir("carol"), "carol", port);
    await connected(carol);
    {
      await using carolApp = await app(dir("carol"));
      await carolApp.listen("news", (m) => void atCarol.push(m));
      await waitUntil(() => atCarol.length >= 4, {
        what: "carol's publications on return",
        timeoutMs: 30_000,
      });
      await aliceApp.publish("news", "fifth", { ack: true });
      await waitUntil(() => atCarol.length >= 5, {
        what: "carol's live publication",
        timeoutMs: 30_000,
      });
      await carolApp.sync();
      assert.deepEqual(texts(atCarol), ["first", "second", "third", "fourth", "fifth"]);
    }

    // client to client through the server: a request answered by bob
    await bobApp.listen("ask", (m) => {
      bobApp.send(m.src, "ask", { answer: m.data }, { replyTo: m.id }).catch(() => {});
    });
    const resp = await aliceApp.request("bob", "ask", "q?", { timeoutMs: 20_000 });
    assert.equal(resp.src, "bob");
    assert.deepEqual(resp.data, { answer: "q?" });

    // a tag filter: bob's CLI listener takes only "red"; "blue" stays queued for an unfiltered one
    await using listen = spawnCli([
      "broker",
      "listen",
      "--dir",
      dir("bob"),
      "--type",
      "alert",
      "--tag",
      "red",
      "--count",
      "1",
    ]);
    await listen.waitForLine(/listening for "alert"/, 30_000);
    for (const tag of ["blue", "red"]) {
      const r = await runCli([
        "broker",
        "send",
        "--dir",
        dir("alice"),
        "--to",
        "bob",
        "--type",
        "alert",
        "--text",
        `${tag} alert`,
        "--tag",
        tag,
        "--ack",
      ]);
      assert.equal(r.code, 0, r.stderr);
    }
    assert.equal((await listen.status).code, 0, listen.stderrText());
    const line = JSON.parse(listen.stdoutText().trim());
    assert.equal(line.src, "alice");
    assert.equal(line.tag, "red");
    assert.equal(line.data, "red alert");
    const rest: Message[] = [];
    await bobApp.listen("alert", (m) => void rest.push(m));
    await waitUntil(() => rest.length === 1, { what: "the queued blue alert", timeoutMs: 30_000 });
    assert.equal(rest[0]!.tag, "blue");

    assert.equal(await stop(carol), 0);
    assert.equal(await stop(alice), 0);
    assert.equal(await stop(bob), 0);
    assert.equal(await stop(server), 0);
  } finally {
    await carol[Symbol.asyncDispose]();
  }
});

Deno.test("broker pub/sub: the --pubsub-rule file decides who may publish, subscribe and send to another client; a refused client gets an error naming the rule", async () => {
  await using pki = await makePki({ clients: ["alice", "bob", "carol"] });
  await using tmp = await tempDir("sockkit-pubsub-test-");
  const port = freePort();
  const dir = (n: string) => join(tmp.path, n);
  const rule = join(tmp.path, "rule.json");
  await Deno.writeTextFile(
    rule,
    JSON.stringify({
      publish: { news: ["alice"] },
      subscribe: { news: ["bob"] },
      send: { bob: ["alice"] },
    }),
  );
  await using server = await startServer(pki.dir, dir("server"), port, ["--pubsub-rule", rule]);
  await using alice = startClient(pki.dir, dir("alice"), "alice", port);
  await using bob = startClient(pki.dir, dir("bob"), "bob", port);
  await using carol = startClient(pki.dir, dir("carol"), "carol", port);
  await Promise.all([connected(alice), connected(bob), connected(carol)]);

  const refused = await runCli(["broker", "subscribe", "--dir", dir("carol"), "--type", "news"]);
  assert.equal(refused.code, 1);
  assert.match(
    refused.stderr,
    /Client "carol" may not subscribe to message type "news": refused by the publish\/subscribe rule ".*rule\.json"/,
  );
  const ok = await runCli(["broker", "subscribe", "--dir", dir("bob"), "--type", "news"]);
  assert.equal(ok.code, 0, ok.stderr);

  await using carolApp = await app(dir("carol"));
  await assert.rejects(
    carolApp.publish("news", "fake", { ack: true }),
    /Client "carol" may not publish to message type "news": refused by the publish\/subscribe rule/,
  );
  await using aliceApp = await app(dir("alice"));
  await assert.rejects(
    aliceApp.send("bob", "chat", "hi", { ack: true }),
    /Client "alice" may not send to client "bob" through the server: refused/,
  );
  // what the rule allows goes through
  await using bobApp = await app(dir("bob"));
  const atBob: Message[] = [];
  await bobApp.listen("news", (m) => void atBob.push(m));
  await aliceApp.publish("news", "real", { ack: true });
  const atAlice: Message[] = [];
  await aliceApp.listen("chat", (m) => void atAlice.push(m));
  await bobApp.send("alice", "chat", "hello alice", { ack: true });
  await waitUntil(() => atBob.length === 1 && atAlice.length === 1, {
    what: "the allowed messages",
    timeoutMs: 30_000,
  });
  assert.equal(atBob[0]!.data, "real");
  assert.equal(atAlice[0]!.src, "bob");

  // a malformed rule is a usage error
  await Deno.writeTextFile(rule, JSON.stringify({ publsh: {} }));
  const bad = await runCli([
    "broker",
    "serve",
    "--port",
    String(freePort()),
    "--certs",
    pki.dir,
    "--dir",
    dir("server2"),
    "--pubsub-rule",
    rule,
  ]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /Unknown section "publsh" in the publish\/subscribe rule/);

  for (const p of [alice, bob, carol, server]) assert.equal(await stop(p), 0);
});
