import assert from "node:assert/strict";
import { createLogger } from "../log/mod.ts";
import { BroadcastTimer } from "./broadcast_timer.ts";
import { delay } from "../async/mod.ts";

Deno.test("BroadcastTimer runs only while the client count is positive and logs each change", async () => {
  const lines: string[] = [];
  const logger = createLogger({ level: "debug", format: "json", sink: (l) => lines.push(l) });
  let ticks = 0;
  let fired: () => void = () => {};
  using timer = new BroadcastTimer(() => {
    ticks++;
    fired();
  }, { periodMs: 5, logger });
  timer.update(0);
  assert.equal(timer.running, false);
  timer.update(1);
  timer.update(2);
  assert.equal(timer.running, true);
  await new Promise<void>((resolve) => fired = resolve);
  timer.update(0);
  assert.equal(timer.running, false);
  const after = ticks;
  await delay(20);
  assert.equal(ticks, after, "no tick after the last client left");
  const msgs = lines.map((l) => JSON.parse(l).msg);
  assert.deepEqual(msgs, ["broadcast timer started", "broadcast timer stopped"]);
});

Deno.test("BroadcastTimer rejects a non-positive period", () => {
  assert.throws(() => new BroadcastTimer(() => {}, { periodMs: 0 }), RangeError);
});
