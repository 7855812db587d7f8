/** A client that reads every frame but never acknowledges one cannot hold its senders' acknowledgements. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { makePki, mtlsListener, runCli, tempDir, waitUntil } from "./harness/mod.ts";
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

Deno.test("broker serve and connect: a bad --ack-timeout or --stall-timeout is refused in one line naming the flag, exit 2", async () => {
  for (
    const bad of [
      ["serve", "--ack-timeout", "soon"],
      ["serve", "--stall-timeout", "0"],
      ["connect", "--ack-timeout", "soon"],
    ]
  ) {
    const r = await runCli(["broker", ...bad]);
    assert.equal(r.code, 2, `${bad.join(" ")}: ${r.stderr}`);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    assert.match(r.stderr, new RegExp(bad[1]!));
  }
});

Deno.test("broker connect --ack-timeout: a server that never acknowledges is cut off by the client, logged, and the message goes out again on the next link, where its acknowledgement answers the app", async () => {
  await using pki = await makePki({ clients: ["alice"] });
  await using tmp = await tempDir("sockkit-ack-timeout-client-");
  // a server connector that welcomes, reads every frame and answers heartbeats, but acknowledges nothing
  const links: RawPeer[] = [];
  await using server = await mtlsListener(
    pki,
    {},
    (conn) => void links.push(RawPeer.accepted(conn)),
  );
  await using alice = startClient(pki.dir, join(tmp.path, "alice"), "alice", server.port, [
    "--ack-timeout",
    "1",
  ]);
  await connected(alice);
  await using aliceApp = await app(join(tmp.path, "alice"));
  let acked = false;
  aliceApp.send("server", "news", "item 1", { ack: true }).then(() => acked = true, () => {});
  // Before (no flag on connect): only the 60 s default bounded this.
  await alice.waitForLine(
    /peer=server reason="peer \\"server\\" acknowledged none of its 1 unacknowledged messages for \d+ ms \(over the 1000 ms acknowledgement deadline\)/,
    10_000,
  );
  await waitUntil(() => links.length >= 2 && links[1]!.all("msg").length >= 1, {
    what: "the message on the client's next link",
    timeoutMs: 30_000,
  });
  const text = (f: { data: Uint8Array } | undefined) => new TextDecoder().decode(f?.data);
  assert.equal(text(links[0]!.all("msg")[0]), "item 1");
  assert.equal(text(links[1]!.all("msg")[0]), "item 1");
  // an acknowledgement means stored at the server: the app's send is answered only now
  assert.equal(acked, false);
  links[1]!.send({ kind: "acks", n: 1 });
  await waitUntil(() => acked, { what: "alice's acknowledgement", timeoutMs: 10_000 });
  for (const l of links) await l.close();
  assert.equal(await stop(alice), 0);
});
