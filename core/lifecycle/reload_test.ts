import assert from "node:assert/strict";
import { createLogger } from "../log/mod.ts";
import { DaemonMetrics } from "../metrics/mod.ts";
import { restartNeeded, serialized } from "./reload.ts";
import { delay } from "../async/mod.ts";

Deno.test("serialized() runs reloads one at a time, logs each outcome and counts it", async () => {
  const lines: string[] = [];
  const logger = createLogger({ sink: (l) => lines.push(l) });
  const metrics = new DaemonMetrics("ingest");
  let running = 0;
  let most = 0;
  let fail = false;
  const reload = serialized(async () => {
    most = Math.max(most, ++running);
    await delay(10);
    running--;
    if (fail) throw new Error('Cannot read server certificate "s.pem": file not found');
    return { closed_revoked: 0 };
  }, { logger, metrics });
  await Promise.all([reload(), reload()]);
  assert.equal(most, 1);
  fail = true;
  await assert.rejects(reload(), /file not found/);
  assert.equal(lines.filter((l) => /INFO\s+reloaded/.test(l)).length, 2);
  assert.ok(
    lines.some((l) =>
      /reload failed: keeping the old certificates and settings.*file not found/.test(l)
    ),
    lines.join("\n"),
  );
  const text = await metrics.render();
  assert.match(text, /^sockkit_reloads_total\{result="ok",service="ingest"\} 2$/m);
  assert.match(text, /^sockkit_reloads_total\{result="failed",service="ingest"\} 1$/m);
});

Deno.test("restartNeeded() names changed settings a reload cannot apply", () => {
  assert.deepEqual(
    restartNeeded({ port: 1, cert: "a", ack: false }, { port: 2, cert: "b", ack: true }, ["cert"]),
    ["ack", "port"],
  );
  assert.deepEqual(restartNeeded({ port: 1 }, { port: 1 }, []), []);
});
