/** What one client can make the server hold: journals for unknown names, waiting subscription changes. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { makePki, runCli, tempDir, waitUntil } from "./harness/mod.ts";
import type { Message } from "../core/broker/mod.ts";
import { app, connected, freePort, startClient, startServer, stop } from "./broker_helpers.ts";

const fds = (pid: number) => [...Deno.readDirSync(`/proc/${pid}/fd`)].length;

/** Sends `hi` with an acknowledgement to each name; the error messages of the refused ones. */
async function sendTo(a: Awaited<ReturnType<typeof app>>, names: string[]): Promise<string[]> {
  const out = await Promise.all(
    names.map((n) => a.send(n, "x", "hi", { ack: true }).then(() => "", (e: Error) => e.message)),
  );
  return out.filter((m) => m !== "");
}

Deno.test("broker --queue-for-unknown: journals for never-connected names are capped per sender (64) and in total (--max-unknown-journals), refused past it with the cap named; the server's descriptors stay bounded and other clients still connect and send", async () => {
  await using pki = await makePki({ clients: ["alice", "bob"] });
  await using tmp = await tempDir("sockkit-bounds-test-");
  const port = freePort();
  const dir = (n: string) => join(tmp.path, n);
  await using server = await startServer(pki.dir, dir("server"), port, [
    "--queue-for-unknown",
    "--max-unknown-journals",
    "100",
  ]);
  await using alice = startClient(pki.dir, dir("alice"), "alice", port);
  await using bob = startClient(pki.dir, dir("bob"), "bob", port);
  await Promise.all([connected(alice), connected(bob)]);
  await using aliceApp = await app(dir("alice"));
  await using bobApp = await app(dir("bob"));
  const base = fds(server.pid);

  const refused = await sendTo(aliceApp, Array.from({ length: 80 }, (_, i) => `ghost${i}`));
  assert.equal(refused.length, 16);
  assert.match(
    refused[0]!,
    /Cannot queue for unknown destination "ghost\d+": "alice" already made server "server" keep journals for 64 client names that never connected, the most one sender may \(64;/,
  );
  // bob's fill the total cap
  const total = await sendTo(bobApp, Array.from({ length: 60 }, (_, i) => `wraith${i}`));
  assert.equal(total.length, 24);
  assert.match(
    total[0]!,
    /already keeps journals for 100 client names that never connected, the most allowed \(--max-unknown-journals 100;/,
  );
  const atCap = fds(server.pid);
  assert.ok(atCap - base < 100 + 40, `${atCap - base} descriptors for 100 journals`);
  assert.equal(
    (await sendTo(aliceApp, Array.from({ length: 500 }, (_, i) => `more${i}`))).length,
    500,
  );
  assert.ok(fds(server.pid) <= atCap + 10, `descriptors grew from ${atCap} to ${fds(server.pid)}`);

  // another client still connects and sends
  assert.equal(await stop(bob), 0);
  await using bob2 = startClient(pki.dir, dir("bob"), "bob", port);
  await connected(bob2);
  const atAlice: Message[] = [];
  await aliceApp.listen("greet", (m) => void atAlice.push(m));
  await using bobApp2 = await app(dir("bob"));
  await bobApp2.send("alice", "greet", "hello", { ack: true });
  await waitUntil(() => atAlice.length === 1, { what: "bob's message", timeoutMs: 30_000 });
  assert.equal(await stop(bob2), 0);
  assert.equal(await stop(server), 0);

  // after a restart, the journals kept for unknown names still count
  await using again = await startServer(pki.dir, dir("server"), port, [
    "--queue-for-unknown",
    "--max-unknown-journals",
    "100",
  ]);
  await again.waitForLine(/client connected.*peer=alice/, 30_000); // alice reconnects by itself
  assert.match((await sendTo(aliceApp, ["other"]))[0] ?? "", /--max-unknown-journals 100/);
  assert.equal(await stop(alice), 0);
  assert.equal(await stop(again), 0);
});

Deno.test("broker subscribe: a flood of subscription changes from one client is refused past 16 waiting, and another client's subscribe is still stored and acknowledged at once", async () => {
  await using pki = await makePki({ clients: ["alice", "bob"] });
  await using tmp = await tempDir("sockkit-bounds-test-");
  const port = freePort();
  const dir = (n: string) => join(tmp.path, n);
  await using server = await startServer(pki.dir, dir("server"), port);
  await using alice = startClient(pki.dir, dir("alice"), "alice", port);
  await using bob = startClient(pki.dir, dir("bob"), "bob", port);
  await Promise.all([connected(alice), connected(bob)]);
  await using aliceApp = await app(dir("alice"));
  const flood = Promise.all(
    Array.from(
      { length: 5000 },
      (_, i) =>
        aliceApp.subscribe([`t${i % 200}`], { unsubscribe: i % 2 === 1 }).then(
          () => "",
          (e: Error) => e.message,
        ),
    ),
  );
  const t0 = Date.now();
  const r = await runCli(["broker", "subscribe", "--dir", dir("bob"), "--type", "news"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /subscribed to news/);
  assert.ok(Date.now() - t0 < 15_000, `bob waited ${Date.now() - t0} ms`);
  const stored = JSON.parse(await Deno.readTextFile(join(dir("server"), "subscriptions.json")));
  assert.deepEqual(stored.bob, ["news"]);
  const errors = (await flood).filter((m) => m !== "");
  assert.ok(errors.length > 0);
  for (const e of errors) assert.match(e, /too many subscription changes waiting to be stored/);
  assert.equal(await stop(alice), 0);
  assert.equal(await stop(bob), 0);
  assert.equal(await stop(server), 0);
});
