/** A client that reads every frame but never acknowledges one cannot hold its senders' acknowledgements. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { makePki, runCli, tempDir, waitUntil } from "./harness/mod.ts";
import type { Message } from "../core/broker/mod.ts";
import {
  app,
  connected,
  freePort,
  RawPeer,
  startClient,
  startServer,
  stop,
} from "./broker_helpers.ts";

Deno.test("broker serve --ack-timeout: a client that reads but never acknowledges is cut off with the reason logged; the sender's send --ack is answered and the message reaches the client when it reconnects", async () => {
  await using pki = await makePki({ clients: ["alice", "bob"] });
  await using tmp = await tempDir("sockkit-ack-timeout-test-");
  const port = freePort();
  const dir = (n: string) => join(tmp.path, n);
  await using server = await startServer(pki.dir, dir("server"), port, ["--ack-timeout", "1"]);
  await using alice = startClient(pki.dir, dir("alice"), "alice", port);
  await connected(alice);
  await using aliceApp = await app(dir("alice"));
  {
    // bob reads every frame and answers heartbeats, but sends no acknowledgement
    await using bob = await RawPeer.connect(pki, port, "bob");
    // Before: this waited until bob's link went away, however long that was.
    let acked = false;
    aliceApp.send("bob", "news", "item 1", { ack: true }).then(() => acked = true, () => {});
    await waitUntil(() => acked, { what: "alice's acknowledgement", timeoutMs: 10_000 });
    assert.ok(bob.all("msg").length >= 1, "bob was sent the message");
    await server.waitForLine(
      /peer=bob reason="peer \\"bob\\" acknowledged none of its 1 unacknowledged messages for \d+ ms \(over the 1000 ms acknowledgement deadline\); they are journaled and sent again when it reconnects \(--ack-timeout\)/,
      10_000,
    );
    await bob.closed;
  }
  // bob comes back as a proper client: the message was kept for it
  await using bob = startClient(pki.dir, dir("bob"), "bob", port);
  await connected(bob);
  await using bobApp = await app(dir("bob"));
  const got: Message[] = [];
  await bobApp.listen("news", (m) => void got.push(m));
  await waitUntil(() => got.length === 1, { what: "the journaled message", timeoutMs: 30_000 });
  assert.equal(got[0]!.data, "item 1");
  assert.equal(await stop(bob), 0);
  assert.equal(await stop(alice), 0);
  assert.equal(await stop(server), 0);
});

Deno.test("broker serve: a bad --ack-timeout or --stall-timeout is refused in one line naming the flag, exit 2", async () => {
  for (const bad of [["--ack-timeout", "soon"], ["--stall-timeout", "0"]]) {
    const r = await runCli(["broker", "serve", ...bad]);
    assert.equal(r.code, 2, `${bad.join(" ")}: ${r.stderr}`);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    assert.match(r.stderr, new RegExp(bad[0]!));
  }
});
