import assert from "node:assert/strict";
import { join } from "node:path";
import { runCli, waitUntil } from "./harness/mod.ts";
import { brokerSite, connected, startClient, stop } from "./broker_helpers.ts";

Deno.test("broker client filter: deny and allow lists by name and subnet, changed at run time and applied to connected clients at once", async (t) => {
  await using site = await brokerSite("sockkit-broker-filter-", { clients: ["alice", "bob"] });
  const { pki, port, sdir } = site;
  await using server = await site.server(["--deny", "name:bob"]);
  await using alice = site.client();
  await using bob = startClient(pki.dir, join(site.root, "bob"), "bob", port);
  await connected(alice);
  const filterCli = (...args: string[]) => runCli(["broker", "filter", ...args, "--dir", sdir]);
  const filter = async (...args: string[]) => {
    const r = await filterCli(...args);
    assert.equal(r.code, 0, r.stderr);
    return r.stdout;
  };
  const links = () => alice.stderrLines.filter((l) => /connected to server/.test(l)).length;
  const refusals = (re: RegExp) => server.stderrLines.filter((l) => re.test(l)).length;

  await t.step(
    "a client on the deny list is refused at the handshake and keeps retrying",
    async () => {
      await server.waitForLine(
        /WARN\s+refused client .*client ..bob.. at 127\.0\.0\.1 is on the server's deny list \(name\)/,
        30_000,
      );
      assert.equal(bob.stderrLines.some((l) => /connected to server/.test(l)), false);
      assert.match(await filter(), /^allow \(empty: every valid certificate\)\ndeny {2}name:bob$/m);
    },
  );

  await t.step("adding a connected client to the deny list disconnects it at once", async () => {
    const out = await filter("add", "deny", "name:alice");
    assert.match(out, /^deny {2}name:bob name:alice$/m);
    assert.match(out, /^disconnected alice$/m);
    await waitUntil(
      () => refusals(/client ..alice.. at 127\.0\.0\.1 is on the server's deny list/) > 0,
      {
        timeoutMs: 30_000,
        what: "alice's reconnect to be refused",
      },
    );
  });

  await t.step("removing it lets the client back in without a restart", async () => {
    const before = links();
    await filter("remove", "deny", "name:alice");
    await waitUntil(() => links() > before, { timeoutMs: 30_000, what: "alice to reconnect" });
  });

  await t.step("an allow list by subnet admits only clients from that subnet", async () => {
    const out = await filter("add", "allow", "subnet:10.0.0.0/8");
    assert.match(out, /^disconnected alice$/m);
    await waitUntil(
      () => refusals(/client ..alice.. at 127\.0\.0\.1 is not on the server's allow list/) > 0,
      {
        timeoutMs: 30_000,
        what: "alice to be refused by the allow list",
      },
    );
    const before = links();
    await filter("add", "allow", "subnet:127.0.0.0/8");
    await waitUntil(() => links() > before, { timeoutMs: 30_000, what: "alice to be admitted" });
  });

  await t.step("a malformed entry is refused with what to write", async () => {
    const r = await filterCli("add", "deny", "subnet:10.0.0.0/99");
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Invalid subnet "10\.0\.0\.0\/99" .*expected ADDRESS\/BITS/);
  });

  assert.equal(await stop(alice), 0);
  assert.equal(await stop(bob), 0);
  assert.equal(await stop(server), 0);
});
