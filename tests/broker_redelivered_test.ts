/**
 * The `redelivered` flag: a message the connector hands to an app after an
 * app it was handed to went away (or stopped listening) without confirming
 * it carries `redelivered: true`; a first delivery has no such field. Real
 * connectors (CLI processes over mutual TLS), apps on the real Unix socket:
 * raw ones writing frames by hand (to see the exact header), `BrokerClient`
 * and `broker listen`.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { Header, Message, MsgHeader } from "../core/broker/mod.ts";
import { runCli, waitUntil } from "./harness/mod.ts";
import { app, appArgs, brokerSite, connected, rawApp, stop } from "./broker_helpers.ts";

/** The message headers a raw app was sent, in order. */
function msgs(answers: Header[]): MsgHeader[] {
  return answers.flatMap((h) => h.kind === "msg" ? [h] : []);
}

/** `id` of each message, with `+` after it when it came with `redelivered: true`. */
function marked(hs: MsgHeader[]): string[] {
  return hs.map((h) => {
    assert.ok(h.redelivered === undefined || h.redelivered === true, `${h.id}: ${h.redelivered}`);
    return h.redelivered ? `${h.id}+` : h.id;
  });
}

/** The answer to the raw app's frame `id`. */
function answerTo(answers: Header[], id: string): Promise<Header> {
  return waitUntil(
    () => answers.find((h) => (h.kind === "result" || h.kind === "error") && h.replyTo === id),
    { what: `the answer to "${id}"` },
  );
}

/** A raw app on `dir`'s socket listening to `type` with confirmations. */
async function rawListener(dir: string, type: string) {
  const raw = await rawApp(join(dir, "broker.sock"));
  raw.write({ kind: "listen", id: "l", types: [type], confirm: true });
  assert.equal((await answerTo(raw.answers, "l")).kind, "result");
  return raw;
}

Deno.test("broker redelivered: live messages an app closed on unconfirmed come back flagged, in order, before later ones unflagged", async () => {
  await using site = await brokerSite("sockkit-redelivered-");
  await using link = await site.link();
  await using alice = await app(site.cdir);
  {
    using first = await rawListener(site.sdir, "job");
    for (let i = 0; i < 5; i++) {
      await alice.send("server", "job", `j${i}`, { id: `j${i}`, ack: true });
    }
    await waitUntil(() => msgs(first.answers).length === 5, { what: "5 messages at the app" });
    // first deliveries: no `redelivered` field at all
    assert.deepEqual(marked(msgs(first.answers)), ["j0", "j1", "j2", "j3", "j4"]);
    assert.ok(msgs(first.answers).every((h) => !("redelivered" in h)));
    first.write({ kind: "delivered", n: 2 }); // j0, j1 handled; the app closes on j2..j4
    first.write({ kind: "sync", id: "s" }); // answered after the confirmation was read
    await answerTo(first.answers, "s");
  }
  await using probe = await app(site.sdir);
  await waitUntil(
    async () =>
      ((await probe.admin("queues")) as { types: Array<{ type: string; messages: number }> })
        .types.find((t) => t.type === "job")?.messages === 3,
    { what: "j2..j4 back in the queue" },
  );
  for (let i = 5; i < 7; i++) {
    await alice.send("server", "job", `j${i}`, { id: `j${i}`, ack: true });
  }

  using next = await rawListener(site.sdir, "job");
  await waitUntil(() => msgs(next.answers).length === 5, { what: "5 messages at the next app" });
  assert.deepEqual(marked(msgs(next.answers)), ["j2+", "j3+", "j4+", "j5", "j6"]);
  next.write({ kind: "delivered", n: 5 });
  await alice.send("server", "job", "j7", { id: "j7", ack: true });
  await waitUntil(() => msgs(next.answers).length === 6, { what: "j7" });
  assert.deepEqual(marked(msgs(next.answers)).slice(5), ["j7"]);
  assert.deepEqual(await link.stop(), { client: 0, server: 0 });
});

Deno.test("broker redelivered: queued messages an app stopped listening to unconfirmed come back flagged, before queued ones it never got; BrokerClient and broker listen show it", async () => {
  await using site = await brokerSite("sockkit-redelivered-");
  await using link = await site.link();
  await using alice = await app(site.cdir);
  // queued while nobody listens
  for (let i = 0; i < 5; i++) {
    await alice.send("server", "task", `t${i}`, { id: `t${i}`, ack: true });
  }
  using first = await rawListener(site.sdir, "task");
  await waitUntil(() => msgs(first.answers).length === 5, { what: "the queued 5" });
  assert.deepEqual(marked(msgs(first.answers)), ["t0", "t1", "t2", "t3", "t4"]);
  assert.ok(msgs(first.answers).every((h) => !("redelivered" in h)));
  first.write({ kind: "delivered", n: 1 });
  first.write({ kind: "unlisten", id: "u", types: ["task"] });
  assert.equal((await answerTo(first.answers, "u")).kind, "result");
  // queued behind the given-back ones; never handed to anyone
  for (let i = 5; i < 8; i++) {
    await alice.send("server", "task", `t${i}`, { id: `t${i}`, ack: true });
  }

  // BrokerClient: the message's `redelivered`; a handler that throws leaves t3.. unconfirmed
  await using b = await app(site.sdir);
  const got: string[] = [];
  const sub = await b.listen("task", (m: Message) => {
    assert.equal(typeof m.redelivered, "boolean");
    got.push(m.redelivered ? `${m.id}+` : m.id);
    if (m.id === "t3") throw new Error("not this one");
  });
  await waitUntil(() => got.length === 7, { what: "t1..t7 at BrokerClient" });
  assert.deepEqual(got, ["t1+", "t2+", "t3+", "t4+", "t5", "t6", "t7"]);
  sub.close();
  await b.sync();

  // broker listen: `"redelivered":true` in the JSON line of those handed out before only
  const lines = async (count: number) => {
    const out = await runCli(appArgs("listen", site.sdir, "task", ["--count", `${count}`]));
    assert.equal(out.code, 0, out.stderr);
    return out.stdout.trim().split("\n").map((l) => JSON.parse(l))
      .map((l) => [l.id, l.redelivered]);
  };
  assert.deepEqual(await lines(5), [
    ["t3", true],
    ["t4", true],
    ["t5", true],
    ["t6", true],
    ["t7", true],
  ]);
  await alice.send("server", "task", "t8", { id: "t8", ack: true });
  assert.deepEqual(await lines(1), [["t8", undefined]]);
  assert.deepEqual(await link.stop(), { client: 0, server: 0 });
});

Deno.test("broker redelivered: a sender cannot mark its message redelivered", async () => {
  await using site = await brokerSite("sockkit-redelivered-");
  await using link = await site.link();
  using sender = await rawApp(join(site.cdir, "broker.sock"));
  using listener = await rawListener(site.sdir, "note");
  const h = { kind: "msg", type: "note", dst: "server", id: "n0", ack: true, redelivered: true };
  sender.write(h as unknown as Header);
  await answerTo(sender.answers, "n0");
  await waitUntil(() => msgs(listener.answers).length === 1, { what: "n0" });
  assert.ok(!("redelivered" in msgs(listener.answers)[0]!));
  assert.deepEqual(await link.stop(), { client: 0, server: 0 });
});

Deno.test("broker redelivered: queued messages an app held unconfirmed when the connector stopped gracefully come flagged after its restart, and only those", async () => {
  await using site = await brokerSite("sockkit-redelivered-");
  await using server = await site.server();
  await using client = site.client();
  await connected(client);
  await using alice = await app(site.cdir);
  for (let i = 0; i < 5; i++) {
    await alice.send("server", "task", `t${i}`, { id: `t${i}`, ack: true });
  }
  {
    using first = await rawListener(site.sdir, "task");
    await waitUntil(() => msgs(first.answers).length === 5, { what: "the queued 5" });
    first.write({ kind: "delivered", n: 2 });
    first.write({ kind: "sync", id: "s" }); // answered after the confirmation was read
    await answerTo(first.answers, "s");
    assert.equal(await stop(server), 0); // SIGTERM, the app still holding t2..t4
  }
  await using again = await site.server();
  await alice.send("server", "task", "t5", { id: "t5", ack: true }); // once alice is back
  using next = await rawListener(site.sdir, "task");
  await waitUntil(() => msgs(next.answers).length === 4, { what: "4 messages after the restart" });
  assert.deepEqual(marked(msgs(next.answers)), ["t2+", "t3+", "t4+", "t5"]);
  // what was kept for the restart is read once: a second restart knows nothing from it
  const left = [...Deno.readDirSync(join(site.sdir, "queues"))].map((e) => e.name);
  assert.ok(!left.some((n) => n.endsWith(".handed")), left.join(", "));
  assert.equal(await stop(client), 0);
  assert.equal(await stop(again), 0);
});
