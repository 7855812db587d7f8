import assert from "node:assert/strict";
import { Dedupe, SeenIds, seenLogBytes } from "./dedupe.ts";
import { RecordLog } from "../storage/mod.ts";
import { routerSeq } from "./_seq_window.ts";

Deno.test("Dedupe reports repeats of router ids and of other ids, within the window", () => {
  const d = new Dedupe(100);
  const ids = ["a1b2c3d40", "a1b2c3d41", "a1b2c3d4z", "order-7", "ffffffff0"];
  for (const id of ids) assert.equal(d.seen(id), false, id);
  for (const id of ids) assert.equal(d.seen(id), true, id);
  d.forget("a1b2c3d41");
  d.forget("order-7");
  assert.equal(d.seen("a1b2c3d41"), false);
  assert.equal(d.seen("order-7"), false);
});

Deno.test("Dedupe remembers the last capacity ids of a sender process and forgets older ones", () => {
  const d = new Dedupe(100);
  for (let i = 0; i < 250; i++) assert.equal(d.seen(`0000abcd${i.toString(36)}`), false);
  assert.equal(d.seen(`0000abcd${(249).toString(36)}`), true);
  assert.equal(d.seen(`0000abcd${(150).toString(36)}`), true);
  assert.equal(d.seen(`0000abcd${(100).toString(36)}`), false); // out of the window
  // out of order within the window: a gap is not a repeat, filling it later is new once
  assert.equal(d.seen(`0000abcd${(300).toString(36)}`), false);
  assert.equal(d.seen(`0000abcd${(260).toString(36)}`), false);
  assert.equal(d.seen(`0000abcd${(260).toString(36)}`), true);
});

Deno.test("routerSeq takes only the canonical spelling, so different ids never share a number", () => {
  assert.equal(routerSeq("deadbeef12"), 38);
  assert.equal(routerSeq("deadbeef0"), 0);
  assert.equal(routerSeq(`deadbeef${(123456789).toString(36)}`), 123456789);
  for (const id of ["deadbeef012", "DEADBEEF12", "deadbeef1A", "deadbee", "deadbeefx-1"]) {
    assert.equal(routerSeq(id), -1, id);
  }
});

Deno.test("SeenIds keeps its log under the byte cap: an older, larger log makes room for new ids", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const capacity = 10;
    const cap = seenLogBytes(capacity);
    {
      // as an earlier version stored them: ids of 64 KiB, no byte cap
      await using old = await RecordLog.open(dir, {
        name: "old log",
        maxBytes: 1024 ** 3,
        fsync: false,
      });
      for (let i = 0; i < 8; i++) {
        await old.append(new TextEncoder().encode(JSON.stringify([`${"x".repeat(65536)}${i}`])));
      }
      assert.ok(old.bytes > cap, `${old.bytes} > ${cap}`);
    }
    {
      await using s = new SeenIds(dir, { capacity, peer: "p", fsync: false });
      await s.load();
      assert.equal(s.seen(`${"x".repeat(65536)}7`), true); // loaded
      for (let i = 0; i < 5; i++) {
        assert.equal(s.seen(`new-${i}`), false);
        await s.commit();
      }
    }
    await using log = await RecordLog.open(dir, { name: "check", maxBytes: cap, fsync: false });
    assert.ok(log.bytes <= cap, `${log.bytes} <= ${cap}`);
    await using again = new SeenIds(dir, { capacity, peer: "p", fsync: false });
    await again.load();
    for (let i = 0; i < 5; i++) assert.equal(again.seen(`new-${i}`), true, `new-${i}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
