import assert from "node:assert/strict";
import { _FsyncGate, SYNC_ON_LOOP_MAX_MS, type Syncable } from "./_fsync_gate.ts";

/** A file whose sync takes `ms` (busy, as a disk flush blocks its caller). */
function file(ms: () => number): Syncable {
  const busy = () => {
    const end = performance.now() + ms();
    while (performance.now() < end) { /* the disk at work */ }
  };
  return {
    syncDataSync: busy,
    syncData: () => Promise.resolve().then(busy),
  };
}

Deno.test("fsync gate: the first sync is measured off the loop, fast ones then run on it", async () => {
  const gate = new _FsyncGate();
  const f = file(() => 0.05);
  assert.equal(await gate.sync(f), "thread");
  assert.equal(await gate.sync(f), "loop");
  assert.equal(await gate.sync(f), "loop");
  assert.ok(gate.averageMs! < SYNC_ON_LOOP_MAX_MS);
});

Deno.test("fsync gate: a slow disk moves the syncs off the loop until they are fast again", async () => {
  const gate = new _FsyncGate();
  let ms = 0.05;
  const f = file(() => ms);
  await gate.sync(f);
  assert.equal(await gate.sync(f), "loop");
  ms = 10; // the disk stalls: one sync blocks the loop, then the average is over the bound
  assert.equal(await gate.sync(f), "loop");
  assert.equal(await gate.sync(f), "thread");
  ms = 0.05;
  let loopAgain = 0;
  for (let i = 0; i < 40 && (await gate.sync(f)) === "thread"; i++) loopAgain++;
  assert.ok(loopAgain > 0 && loopAgain < 40, `back on the loop after ${loopAgain} fast syncs`);
});

Deno.test("fsync gate: logs committing at once sync off the loop together, not one after another", async () => {
  const gate = new _FsyncGate();
  const f = file(() => 0.05);
  await gate.sync(f);
  // three logs whose commits start in one microtask checkpoint
  const where = await Promise.all([gate.sync(f), gate.sync(f), gate.sync(f)]);
  assert.deepEqual(where, ["loop", "thread", "thread"]);
  // while one is off the loop, a later one does not block the loop either
  const offLoop: Syncable = {
    syncDataSync: () => assert.fail("on the loop"),
    syncData: () => new Promise((r) => setTimeout(r, 5)),
  };
  const first = gate.sync(f);
  const second = gate.sync(offLoop);
  assert.equal(await first, "loop");
  const later = gate.sync(f); // a later checkpoint, the second still in flight
  assert.deepEqual(await Promise.all([second, later]), ["thread", "thread"]);
});
