import assert from "node:assert/strict";
import { TypeQueues } from "./type_queues.ts";
import { RecordLog } from "../storage/mod.ts";

const enc = new TextEncoder();

/** A fresh queues directory with 3 records of type `job`, closed with the first 2 handed out. */
async function closedWithTwoHanded(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "sockkit-type-queues-" });
  const q = new TypeQueues(dir, { fsync: false });
  for (let i = 0; i < 3; i++) await q.push("job", enc.encode(`r${i}`));
  await q.close((type) => type === "job" ? 2 : 0);
  return dir;
}

Deno.test("TypeQueues keeps how many records at a queue's front were handed out across a close, read once", async () => {
  const dir = await closedWithTwoHanded();
  try {
    const q = new TypeQueues(dir, { fsync: false });
    assert.equal(q.handedOut("job"), 2);
    assert.equal(q.handedOut("other"), 0);
    await q.close();
    const q2 = new TypeQueues(dir, { fsync: false });
    assert.equal(q2.handedOut("job"), 0); // not written again by a close that handed none
    await q2.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("TypeQueues ignores a handed-out count whose queue no longer starts where it did (no false repeats)", async () => {
  const dir = await closedWithTwoHanded();
  try {
    // the queue moved on after that close (a run that crashed before its own close)
    const q = new TypeQueues(dir, { fsync: false });
    q.get("job")!.consume(1);
    await q.get("job")!.close(); // the new front is on disk; its .handed file was read already
    const file = `${dir}/job.handed`;
    await Deno.writeTextFile(file, JSON.stringify({ front: { segment: 1, offset: 0 }, count: 2 }));
    const q2 = new TypeQueues(dir, { fsync: false });
    assert.equal(q2.handedOut("job"), 0);
    assert.equal(q2.count("job"), 2);
    await q.close();
    await q2.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("TypeQueues removes a .handed file's leftover temporary files at open (and an earlier version's TYPE.handed.tmp) and keeps the queue and the count", async () => {
  const dir = await closedWithTwoHanded();
  try {
    const leftover = `.job.handed.${crypto.randomUUID()}.tmp`;
    Deno.writeTextFileSync(`${dir}/${leftover}`, `{"front":`); // a crash before the rename
    Deno.writeTextFileSync(`${dir}/job.handed.tmp`, `{"front":`); // the same, by an earlier version
    Deno.writeTextFileSync(`${dir}/notes.tmp`, "not ours");
    const q = new TypeQueues(dir, { fsync: false });
    assert.equal(q.handedOut("job"), 2);
    assert.equal(q.count("job"), 3);
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name).sort(), ["job", "notes.tmp"]);
    await q.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("TypeQueues keeps types '.', '..' and 'x.handed' in directories of their own inside DIR, across a close", async () => {
  const parent = await Deno.makeTempDir({ prefix: "sockkit-type-queues-" });
  const dir = `${parent}/queues`;
  try {
    Deno.mkdirSync(dir);
    const q = new TypeQueues(dir, { fsync: false });
    for (const type of [".", "..", "x.handed", "x"]) await q.push(type, enc.encode(type));
    await q.close((type) => type === "x" ? 1 : 0);
    assert.deepEqual([...Deno.readDirSync(parent)].map((e) => e.name), ["queues"]);
    assert.deepEqual(
      [...Deno.readDirSync(dir)].map((e) => e.name).sort(),
      ["%2E", "%2E%2E", "x", "x%2Ehanded", "x.handed"],
    );
    const q2 = new TypeQueues(dir, { fsync: false });
    for (const type of [".", "..", "x.handed", "x"]) assert.equal(q2.count(type), 1, type);
    assert.equal(q2.handedOut("x"), 1);
    assert.equal(q2.handedOut("x.handed"), 0);
    await q2.close();
  } finally {
    await Deno.remove(parent, { recursive: true });
  }
});

Deno.test("TypeQueues reopens a queue whose directory was named before dots were encoded, and appends to it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sockkit-type-queues-" });
  try {
    const old = RecordLog.openSync(`${dir}/chat.v1`, {
      name: "an earlier version's queue",
      fsync: false,
    });
    await old.append(enc.encode("before"));
    await old.close();
    const q = new TypeQueues(dir, { fsync: false });
    assert.equal(q.count("chat.v1"), 1);
    await q.push("chat.v1", enc.encode("after"));
    await q.close();
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["chat.v1"]);
    const q2 = new TypeQueues(dir, { fsync: false });
    assert.equal(q2.count("chat.v1"), 2);
    await q2.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("TypeQueues counts only types with messages against the type cap: a drained queue frees its place, also after a restart", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sockkit-type-queues-" });
  try {
    const q = new TypeQueues(dir, { fsync: false, maxTypes: 2 });
    await q.push("a", enc.encode("1"));
    await q.push("b", enc.encode("1"));
    assert.throws(() => q.push("c", enc.encode("1")), /2 message types are queued already/);
    q.get("a")!.consume(1);
    await q.push("c", enc.encode("1"));
    assert.throws(() => q.push("a", enc.encode("2")), /2 message types are queued already/);
    await q.close();
    const q2 = new TypeQueues(dir, { fsync: false, maxTypes: 2 });
    assert.throws(() => q2.push("d", enc.encode("1")), /2 message types are queued already/);
    q2.get("b")!.consume(1);
    await q2.push("d", enc.encode("1"));
    assert.deepEqual([q2.count("a"), q2.count("b"), q2.count("c"), q2.count("d")], [0, 0, 1, 1]);
    await q2.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("TypeQueues lets one sender start at most its share of the queued types: the others' still queue, a drained queue gives the place back, a message given back counts only in the total", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sockkit-type-queues-" });
  try {
    const q = new TypeQueues(dir, { fsync: false, maxTypes: 4, maxTypesPerSender: 2 });
    await q.push("a", enc.encode("1"), "mallory");
    await q.push("b", enc.encode("1"), "mallory");
    assert.throws(
      () => q.push("c", enc.encode("1"), "mallory"),
      /Cannot queue a message of type "c" from "mallory": messages of "mallory" started the queues of 2 message types that nobody has taken yet, the most one sender may \(2 of the 4 places;/,
    );
    // more of a type it started, or of one another started, take no new place
    await q.push("a", enc.encode("2"), "mallory");
    await q.push("c", enc.encode("1"), "alice");
    await q.push("c", enc.encode("2"), "mallory");
    assert.equal(q.count("c"), 2);
    // a drained queue no longer counts for the sender that started it
    q.get("a")!.consume(2);
    await q.push("d", enc.encode("1"), "mallory");
    // a message given back (no sender) takes a place only in the total
    await q.push("a", enc.encode("back"));
    assert.throws(
      () => q.push("e", enc.encode("1"), "alice"),
      /4 message types are queued already/,
    );
    assert.deepEqual([q.count("a"), q.count("b"), q.count("c"), q.count("d")], [1, 1, 2, 1]);
    await q.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
