import assert from "node:assert/strict";
import { _FsyncGate, SYNC_ON_LOOP_MAX_MS, type Syncable } from "./_fsync_gate.ts";

/** A clock the fake disk moves: a sync of `ms` takes `ms` on it, whatever the machine's load. */
function disk() {
  let now = 0;
  let ms = 0.05;
  const spend = () => {
    now += ms;
  };
  const file: Syncable = {
    syncDataSync: spend,
    syncData: () => Promise.resolve().then(spend),
  };
  return {
    gate: new _FsyncGate(() => now),
    file,
    /** From now on each sync takes `v` ms. */
    takes(v: number) {
      ms = v;
    },
  };
}

Deno.test("fsync gate: the first sync is measured off the loop, fast ones then run on it", async () => {
  const { gate, file } = disk();
  assert.equal(await gate.sync(file), "thread");
  assert.equal(await gate.sync(file), "loop");
  assert.equal(await gate.sync(file), "loop");
  assert.ok(gate.averageMs! < SYNC_ON_LOOP_MAX_MS);
});

Deno.test("fsync gate: a slow disk moves the syncs off the loop until they are fast again", async () => {
  const { gate, file, takes } = disk();
  await gate.sync(file);
  assert.equal(await gate.sync(file), "loop");
  takes(10); // the disk stalls: one sync blocks the loop, then the average is over the bound
  assert.equal(await gate.sync(file), "loop");
  assert.equal(await gate.sync(file), "thread");
  takes(0.05);
  let offLoop = 0;
  while ((await gate.sync(file)) === "thread") offLoop++;
  // two syncs of 10 ms put the average at 3.6 ms; with a weight of 0.2 per 0.05 ms sync it is
  // under 1 ms again after six
  assert.equal(offLoop, 6);
});

Deno.test("fsync gate: logs committing at once sync off the loop together, not one after another", async () => {
  const { gate, file } = disk();
  await gate.sync(file);
  // three logs whose commits start in one microtask checkpoint
  const where = await Promise.all([gate.sync(file), gate.sync(file), gate.sync(file)]);
  assert.deepEqual(where, ["loop", "thread", "thread"]);
  // while one is off the loop, a later one does not block the loop either
  let done!: () => void;
  const offLoop: Syncable = {
    syncDataSync: () => assert.fail("on the loop"),
    syncData: () => new Promise<void>((r) => done = r),
  };
  const first = gate.sync(file);
  const second = gate.sync(offLoop);
  assert.equal(await first, "loop");
  const later = gate.sync(file); // a later checkpoint, the second still in flight
  done();
  assert.deepEqual(await Promise.all([second, later]), ["thread", "thread"]);
});

Deno.test("fsync gate: a sync nobody waits for (background) never blocks the loop, even on a fast disk", async () => {
  const { gate, file } = disk();
  await gate.sync(file);
  assert.equal(await gate.sync(file), "loop");
  assert.equal(await gate.sync(file, true), "thread");
  // measured like the others, and the next one that is waited for runs on the loop again
  assert.ok(gate.averageMs! < SYNC_ON_LOOP_MAX_MS);
  assert.equal(await gate.sync(file), "loop");
});
