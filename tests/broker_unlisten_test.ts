/**
 * The local API's `unlisten`: an app stops a listen without closing its
 * socket. Real connectors (CLI processes over mutual TLS), apps on the real
 * Unix socket: a raw one writing frames by hand, and `BrokerClient`.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { Header, Message } from "../core/broker/mod.ts";
import { waitUntil } from "./harness/mod.ts";
import { app, brokerSite, rawApp } from "./broker_helpers.ts";
import { delay } from "../core/async/mod.ts";

/** The ids of the messages a raw app was sent, in order. */
function msgIds(answers: Header[]): string[] {
  return answers.flatMap((h) => h.kind === "msg" ? [h.id] : []);
}

/** The answer to the raw app's frame `id`. */
function answerTo(answers: Header[], id: string): Promise<Header> {
  return waitUntil(
    () => answers.find((h) => (h.kind === "result" || h.kind === "error") && h.replyTo === id),
    { what: `the answer to "${id}"` },
  );
}

/** Messages of `type` queued at the connector `a` speaks to. */
async function queued(a: { admin(op: string): Promise<unknown> }, type: string): Promise<number> {
  const r = await a.admin("queues") as { types: Array<{ type: string; messages: number }> };
  return r.types.find((t) => t.type === type)?.messages ?? 0;
}

Deno.test("broker local API: unlisten gives the unconfirmed messages back to the queue, in order, and another app's listener takes them over", async () => {
  await using site = await brokerSite("sockkit-unlisten-");
  await using link = await site.link();
  await using alice = await app(site.cdir);
  await using other = await app(site.sdir);
  using raw = await rawApp(join(site.sdir, "broker.sock"));
  raw.write({ kind: "listen", id: "l1", types: ["job"], confirm: true });
  assert.equal((await answerTo(raw.answers, "l1")).kind, "result");

  for (let i = 0; i < 5; i++) {
    await alice.send("server", "job", `j${i}`, { id: `j${i}`, ack: true });
  }
  await waitUntil(() => msgIds(raw.answers).length === 5, { what: "5 messages at the raw app" });
  raw.write({ kind: "delivered", n: 2 }); // j0 and j1 handled; j2..j4 not (yet)

  // another app listens: nothing for it yet (the raw app holds j2..j4)
  const taken: string[] = [];
  await other.listen("job", (m: Message) => void taken.push(m.id));
  await delay(200);
  assert.deepEqual(taken, []);

  raw.write({ kind: "unlisten", id: "u1", types: ["job"] });
  assert.deepEqual(await answerTo(raw.answers, "u1"), { kind: "result", replyTo: "u1", ok: true });
  await waitUntil(() => taken.length === 3, { what: "the 3 given back" });
  assert.deepEqual(taken, ["j2", "j3", "j4"]);

  // the raw app gets no more of the type; its late confirmation of j2..j4 takes nothing away
  raw.write({ kind: "delivered", n: 5 });
  await alice.send("server", "job", "j5", { id: "j5", ack: true });
  await waitUntil(() => taken.length === 4, { what: "j5 at the other app" });
  assert.deepEqual(taken, ["j2", "j3", "j4", "j5"]);
  assert.deepEqual(msgIds(raw.answers), ["j0", "j1", "j2", "j3", "j4"]);

  // an unknown type is a no-op; a malformed frame is an error naming what is expected
  raw.write({ kind: "unlisten", id: "u2", types: ["never-listened"] });
  assert.deepEqual(await answerTo(raw.answers, "u2"), { kind: "result", replyTo: "u2", ok: true });
  raw.write({ kind: "unlisten", id: "u3", types: "job" } as unknown as Header);
  assert.deepEqual(await answerTo(raw.answers, "u3"), {
    kind: "error",
    replyTo: "u3",
    message: 'Unlisten needs "types": an array of message type strings',
  });
  assert.equal(await queued(other, "job"), 0);
  assert.deepEqual(await link.stop(), { client: 0, server: 0 });
});

Deno.test("broker local API: BrokerClient's subscription close() stops the listen; later messages stay queued for the next listener", async () => {
  await using site = await brokerSite("sockkit-unlisten-");
  await using link = await site.link();
  await using alice = await app(site.cdir);
  await using a = await app(site.sdir);
  const got: string[] = [];
  const sub = await a.listen("task", (m: Message) => void got.push(m.id));
  await alice.send("server", "task", "t0", { id: "t0", ack: true });
  await waitUntil(() => got.length === 1, { what: "t0" });

  sub.close();
  await a.sync(); // the connector handled the unlisten
  for (let i = 1; i <= 3; i++) {
    await alice.send("server", "task", `t${i}`, { id: `t${i}`, ack: true });
  }
  await delay(200);
  assert.deepEqual(got, ["t0"]);
  assert.equal(await queued(a, "task"), 3);

  // the same client listens again: the queued ones come, in order, and leave the queue
  const again: string[] = [];
  await a.listen("task", (m: Message) => void again.push(m.id));
  await waitUntil(() => again.length === 3, { what: "the queued 3" });
  assert.deepEqual(again, ["t1", "t2", "t3"]);
  await waitUntil(async () => await queued(a, "task") === 0, { what: "the queue to empty" });
  assert.deepEqual(await link.stop(), { client: 0, server: 0 });
});

Deno.test("broker local API: unlisten frees slots of the 256-types and 256-listens caps", async () => {
  await using site = await brokerSite("sockkit-unlisten-");
  await using _server = await site.server();
  using raw = await rawApp(join(site.sdir, "broker.sock"));
  const types = Array.from({ length: 256 }, (_, i) => `t${i}`);
  raw.write({ kind: "listen", id: "all", types, confirm: true });
  assert.equal((await answerTo(raw.answers, "all")).kind, "result");
  raw.write({ kind: "listen", id: "over", types: ["t256"] });
  assert.match(
    (await answerTo(raw.answers, "over") as { message: string }).message,
    /at most 256 message types/,
  );
  // a partial unlisten narrows that listen; the freed type slot takes a new type
  raw.write({ kind: "unlisten", id: "u0", types: ["t0"] });
  assert.equal((await answerTo(raw.answers, "u0")).kind, "result");
  raw.write({ kind: "listen", id: "again", types: ["t256"] });
  assert.equal((await answerTo(raw.answers, "again")).kind, "result");

  // 2 listens held; 254 more with tags fill the listens cap
  for (let i = 0; i < 254; i++) {
    raw.write({ kind: "listen", id: `g${i}`, types: ["t1"], tag: `g${i}` });
  }
  assert.equal((await answerTo(raw.answers, "g253")).kind, "result");
  raw.write({ kind: "listen", id: "g254", types: ["t1"], tag: "g254" });
  assert.match(
    (await answerTo(raw.answers, "g254") as { message: string }).message,
    /at most 256 listens/,
  );
  // unlisten with a tag removes only that tag's listen, freeing its slot
  raw.write({ kind: "unlisten", id: "ug0", types: ["t1"], tag: "g0" });
  assert.equal((await answerTo(raw.answers, "ug0")).kind, "result");
  raw.write({ kind: "listen", id: "g254b", types: ["t1"], tag: "g254" });
  assert.equal((await answerTo(raw.answers, "g254b")).kind, "result");
});
