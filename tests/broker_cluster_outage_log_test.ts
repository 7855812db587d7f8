/**
 * What a `broker serve --cluster` process logs when its nats-server stops
 * and starts again on the same port: the NATS connection's loss and return
 * once each, from the server's one NATS connection, not once more per local
 * copy of a bucket (the client list, the heartbeats).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { delay } from "../core/async/mod.ts";
import { makePki, startNats, tempDir, withNats } from "./harness/mod.ts";
import { connected, freePort, startClient } from "./broker_helpers.ts";
import { clusterServer } from "./_cluster/serve.ts";

withNats.test("broker cluster NATS outage log: the server logs one warning that the NATS connection is lost and one info line that it is back; its local copies (client list, heartbeats) are read in full again without a warning or info line of their own", async () => {
  await using nats = await startNats();
  await using pki = await makePki({ clients: ["alice"] });
  await using tmp = await tempDir("sockkit-cluster-outage-log-test-");
  const serve = clusterServer(pki.dir, tmp.path, {
    urls: [nats.url],
    name: "olog",
    extra: ["--log-level", "debug"], // the copies' own lines, whatever their level
  });
  const port = freePort();
  await using a = await serve("A", port);
  await using alice = startClient(pki.dir, join(tmp.path, "alice"), "alice", port);
  await connected(alice); // the client list's copy holds her

  await nats.stop();
  await a.waitForLine(/cluster NATS connection lost/, 20_000);
  // Longer than a JetStream request's 5 s timeout and the heartbeat's 3 s: what fails meanwhile is logged by now.
  await delay(7000);
  await nats.restart();
  await a.waitForLine(/cluster NATS connection back/, 30_000);
  // Both copies were read in full again: any line of theirs about the outage is written by now.
  for (const what of ["the names held in the cluster", "the servers' heartbeats"]) {
    await a.waitForLine(new RegExp(`cluster copy of ${what} complete again`), 30_000);
  }

  const log = a.stderrText().split("\n");
  const about = (level: string) =>
    log.filter((l) =>
      l.includes(` ${level} `) && /NATS connection|not kept current|complete again/.test(l)
    );
  const all = JSON.stringify(log);
  assert.equal(about("WARN").length, 1, `one warning about the outage (log: ${all})`);
  assert.match(
    about("WARN")[0]!,
    /WARN {2}cluster NATS connection lost: client links here stay up; sends to clients on other servers wait up to 5 s for it, then fail svc=broker nats=/,
  );
  assert.equal(about("INFO").length, 1, `one info line about the return (log: ${all})`);
  assert.match(about("INFO")[0]!, /INFO {2}cluster NATS connection back svc=broker nats=/);
});
