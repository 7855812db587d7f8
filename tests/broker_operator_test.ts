import assert from "node:assert/strict";
import { runCli, waitUntil } from "./harness/mod.ts";
import { brokerSite } from "./broker_helpers.ts";

Deno.test("broker log-level and disconnect act on a running connector without a restart", async (t) => {
  await using site = await brokerSite("sockkit-broker-operator-");
  const { sdir } = site;
  await using link = await site.link();
  const { server, client } = link;

  await t.step("log-level shows, changes and refuses an unknown level", async () => {
    const show = await runCli(["broker", "log-level", "--dir", sdir]);
    assert.equal(show.code, 0, show.stderr);
    assert.equal(show.stdout.trim(), "log level info");
    const quiet = await runCli(["broker", "log-level", "error", "--dir", sdir]);
    assert.equal(quiet.stdout.trim(), "log level error (was info)");
    // while at error, the connector's own info line about the change is not written...
    const back = await runCli(["broker", "log-level", "debug", "--dir", sdir, "--json"]);
    assert.deepEqual(JSON.parse(back.stdout), { level: "debug", previous: "error" });
    // ...and at debug it is
    await server.waitForLine(/INFO\s+log level changed .*level=debug/);
    assert.doesNotMatch(server.stderrText(), /log level changed .*level=error/);
    const bad = await runCli(["broker", "log-level", "loud", "--dir", sdir]);
    assert.notEqual(bad.code, 0);
    assert.match(
      bad.stderr,
      /Unknown log level "loud": expected one of debug, info, warn, error, silent/,
    );
  });

  await t.step(
    "disconnect closes a client's link and the client reconnects (not revoked)",
    async () => {
      const r = await runCli(["broker", "disconnect", "alice", "--dir", sdir]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout.trim(), "disconnected alice");
      const links = () => client.stderrLines.filter((l) => /connected to server/.test(l)).length;
      await waitUntil(() => links() >= 2, { timeoutMs: 30_000, what: "alice to reconnect" });
      const again = await runCli(["broker", "peers", "--dir", sdir, "--json"]);
      const peers = JSON.parse(again.stdout) as Array<{ name: string; connected: boolean }>;
      assert.ok(peers.some((p) => p.name === "alice"), again.stdout);
      const nobody = await runCli(["broker", "disconnect", "bob", "--dir", sdir]);
      assert.equal(nobody.stdout.trim(), "bob was not connected");
    },
  );

  assert.deepEqual(await link.stop(), { client: 0, server: 0 });
});
