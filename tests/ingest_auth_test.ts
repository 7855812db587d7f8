import assert from "node:assert/strict";
import { connect } from "../core/net/mod.ts";
import { loadClientTls, revoke } from "../core/pki/mod.ts";
import { collectLines, ingestFixture } from "./ingest_fixture.ts";
import { makePki, waitUntil } from "./harness/mod.ts";
import { delay } from "../core/async/mod.ts";

async function attempt(fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch { /* refused: expected */ }
}

Deno.test("ingest stores nothing from a plain TCP client, an unknown or a revoked certificate; others are unaffected", async () => {
  await using f = await ingestFixture({ clients: ["alice", "mallory"] });
  await using stranger = await makePki({ clients: ["eve"] });
  await revoke(f.pki.dir, "mallory");
  await using good = await f.connect("alice");
  const acks = collectLines(good);
  await good.write('{"good1":1}');

  const port = f.server.port;
  await attempt(async () => {
    const plain = await Deno.connect({ hostname: "127.0.0.1", port });
    await plain.write(new TextEncoder().encode('{"plain":1}'));
    await delay(100);
    plain.close();
  });
  for (
    const tls of [
      await loadClientTls({ ca: f.pki.paths.ca, ...stranger.client("eve") }),
      await loadClientTls({ ca: f.pki.paths.ca, ...f.pki.client("mallory") }),
    ]
  ) {
    await attempt(async () => {
      const c = await connect({ host: "127.0.0.1", port, tls });
      await c.write('{"intruder":1}');
      await c.closed;
    });
  }
  await waitUntil(() => f.server.metrics.connectionsRefused >= 3, { what: "3 refusals" });
  await good.write('{"good2":2}');
  await waitUntil(() => acks.lastOk() === 2, { what: "the good client's acks" });
  await using c = await f.redis.client();
  assert.deepEqual((await c.keys("*")).sort(), ["good1", "good2"]);
});
