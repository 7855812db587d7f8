import assert from "node:assert/strict";
import { join } from "node:path";
import { RecordLog } from "./record_log.ts";
import type { LogDamage } from "./record_log_options.ts";
import { StorageFullError } from "./errors.ts";
import { delay } from "../async/mod.ts";
import { smallDisk, smallDiskSkipped, tempDir } from "../../tests/harness/mod.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

async function readAll(log: RecordLog): Promise<string[]> {
  const out: string[] = [];
  let cur = log.start;
  while (true) {
    const { records, next } = await log.read(cur, 1024);
    if (records.length === 0) return out;
    for (const r of records) out.push(dec.decode(r));
    cur = next;
  }
}

const seq = (n: number, from = 0) => Array.from({ length: n }, (_, i) => `r${from + i}`);

Deno.test("RecordLog keeps records in order across segments, group commits and reopening", async () => {
  await using dir = await tempDir("sockkit-log-test-");
  {
    await using log = await RecordLog.open(dir.path, { name: "test log", segmentBytes: 256 });
    const writes = seq(100).map((s) => log.append(enc.encode(s)));
    await Promise.all(writes);
    assert.equal(log.count, 100);
  }
  assert.ok([...Deno.readDirSync(dir.path)].length > 5, "several segments");
  await using log = await RecordLog.open(dir.path, { name: "test log", segmentBytes: 256 });
  assert.equal(log.count, 100);
  assert.deepEqual(await readAll(log), seq(100));
});

Deno.test("RecordLog.consume() drops records from the front, deletes segments and survives reopening", async () => {
  await using dir = await tempDir("sockkit-log-test-");
  {
    await using log = await RecordLog.open(dir.path, { name: "test log", segmentBytes: 256 });
    for (const s of seq(100)) log.append(enc.encode(s));
    await log.flush();
    log.consume(60);
    assert.equal(log.count, 40);
    assert.deepEqual(await readAll(log), seq(40, 60));
  }
  await using log = await RecordLog.open(dir.path, { name: "test log", segmentBytes: 256 });
  assert.deepEqual(await readAll(log), seq(40, 60));
  log.consume(40);
  assert.equal(log.count, 0);
  await log.append(enc.encode("after"));
  assert.deepEqual(await readAll(log), ["after"]);
});

Deno.test("RecordLog removes the head file's leftover temporary files at open (and an earlier version's head.tmp) and keeps its front", async () => {
  await using dir = await tempDir("sockkit-log-test-");
  {
    await using log = await RecordLog.open(dir.path, { name: "test log" });
    for (const s of seq(10)) log.append(enc.encode(s));
    await log.flush();
    log.consume(4);
  }
  const leftover = `.head.${crypto.randomUUID()}.tmp`;
  Deno.writeTextFileSync(join(dir.path, leftover), `{"segment":1,"off`); // a crash mid-write
  Deno.writeTextFileSync(join(dir.path, "head.tmp"), `{"segment":1,"off`); // the same, by an earlier version
  Deno.writeTextFileSync(join(dir.path, "notes.tmp"), "not ours");
  await using log = await RecordLog.open(dir.path, { name: "test log" });
  assert.deepEqual(await readAll(log), seq(6, 4));
  const names = [...Deno.readDirSync(dir.path)].map((e) => e.name).sort();
  assert.deepEqual(names, ["0000000001.log", "head", "notes.tmp"]);
});

Deno.test("RecordLog keeps what is appended after it was emptied, across two reopenings", async () => {
  await using dir = await tempDir("sockkit-log-test-");
  const opts = { name: "test log", segmentBytes: 64 * 1024 };
  {
    await using log = await RecordLog.open(dir.path, opts);
    for (let i = 0; i < 3; i++) await log.append(enc.encode("x".repeat(40_000)));
    log.consume(3); // every segment consumed and deleted; the head names the next one
  }
  {
    await using log = await RecordLog.open(dir.path, opts);
    await log.append(enc.encode("after"));
  }
  await using log = await RecordLog.open(dir.path, opts);
  assert.equal(log.count, 1);
  assert.deepEqual(await readAll(log), ["after"]);
});

Deno.test("RecordLog does not drop a consumed segment whose last append is still being written", async () => {
  await using dir = await tempDir("sockkit-log-test-");
  const opts = { name: "test log", segmentBytes: 1000 };
  {
    await using log = await RecordLog.open(dir.path, opts);
    for (let i = 0; i < 8; i++) await log.append(enc.encode(`a${i}`.padEnd(88, ".")));
    const x = log.append(enc.encode("X".padEnd(88, "."))); // fills segment 1
    const y = log.append(enc.encode("Y".padEnd(188, "."))); // starts segment 2
    log.consume(log.durableCount); // the 8 on disk; X is still being written
    await Promise.all([x, y]);
    assert.deepEqual((await readAll(log)).map((r) => r[0]), ["X", "Y"]);
    log.consume(1);
    assert.deepEqual((await readAll(log)).map((r) => r[0]), ["Y"]);
  }
  await using log = await RecordLog.open(dir.path, opts);
  assert.deepEqual((await readAll(log)).map((r) => r[0]), ["Y"]);
});

Deno.test("RecordLog cuts a torn tail on open, reports it and appends after the intact records", async () => {
  await using dir = await tempDir("sockkit-log-test-");
  {
    await using log = await RecordLog.open(dir.path, { name: "test log" });
    for (const s of seq(5)) log.append(enc.encode(s));
  }
  const file = join(dir.path, "0000000001.log");
  const bytes = Deno.readFileSync(file);
  Deno.writeFileSync(file, bytes.subarray(0, bytes.length - 3));
  const damage: LogDamage[] = [];
  await using log = await RecordLog.open(dir.path, {
    name: "test log",
    onDamage: (d) => damage.push(d),
  });
  assert.equal(damage.length, 1);
  assert.equal(damage[0]!.kind, "torn");
  assert.equal(damage[0]!.kept, 4);
  assert.match(damage[0]!.reason, /truncated record/);
  await log.append(enc.encode("r5"));
  assert.deepEqual(await readAll(log), ["r0", "r1", "r2", "r3", "r5"]);
});

Deno.test("RecordLog with fsync keeps its open segment zero-filled ahead, cuts the zeros on close and takes them as the end after a crash", async () => {
  await using dir = await tempDir("sockkit-log-test-");
  const file = join(dir.path, "0000000001.log");
  const crashed = join(dir.path, "crashed");
  Deno.mkdirSync(crashed);
  const records = 5 * (12 + 2);
  {
    await using log = await RecordLog.open(dir.path, { name: "test log" });
    for (const s of seq(5)) await log.append(enc.encode(s));
    const open = Deno.readFileSync(file);
    assert.equal(open.length, 14 + 4096, "a log written little is filled 4 KiB ahead");
    assert.ok(open.subarray(records).every((b) => b === 0));
    // what a crash (kill -9 or power cut) leaves: the records, then zeros
    Deno.writeFileSync(join(crashed, "0000000001.log"), open);
  }
  assert.equal(Deno.statSync(file).size, records, "closed: exactly the records");
  const damage: LogDamage[] = [];
  await using log = await RecordLog.open(crashed, {
    name: "test log",
    onDamage: (d) => damage.push(d),
  });
  assert.deepEqual(damage, [], "the zero fill is not damage");
  await log.append(enc.encode("r5"));
  assert.deepEqual(await readAll(log), seq(6));
  await log.close();
  assert.equal(Deno.statSync(join(crashed, "0000000001.log")).size, 6 * 14);
});

Deno.test("RecordLog with fsync fills a busy segment further ahead, with no more zeros than the file already holds (4 KiB at least)", async () => {
  await using dir = await tempDir("sockkit-log-test-");
  const file = join(dir.path, "0000000001.log");
  await using log = await RecordLog.open(dir.path, { name: "test log" });
  const record = 100_000 + 12;
  let fills = 0;
  let last = 0;
  for (let i = 1; i <= 30; i++) {
    await log.append(new Uint8Array(100_000).fill(1));
    const size = Deno.statSync(file).size;
    assert.ok(size <= 2 * i * record + 4096, `${size} bytes for ${i} records`);
    if (size !== last) fills++;
    last = size;
  }
  // ahead as far as the segment holds (doubling), then 1 MiB at a time: 3 MB in 30 commits
  assert.ok(fills <= 6, `${fills} fills`);
  assert.ok(last >= 30 * record + 500_000, `${last} bytes after 30 records`);
});

Deno.test("RecordLog still reports a torn record that zeros follow", async () => {
  await using dir = await tempDir("sockkit-log-test-");
  {
    await using log = await RecordLog.open(dir.path, { name: "test log" });
    for (const s of seq(3)) log.append(enc.encode(s));
  }
  const file = join(dir.path, "0000000001.log");
  const bytes = Deno.readFileSync(file);
  const torn = new Uint8Array(bytes.length + 4096);
  torn.set(bytes.subarray(0, bytes.length - 3));
  Deno.writeFileSync(file, torn);
  const damage: LogDamage[] = [];
  await using log = await RecordLog.open(dir.path, {
    name: "test log",
    onDamage: (d) => damage.push(d),
  });
  assert.deepEqual(damage.map((d) => [d.kind, d.offset, d.kept]), [["torn", 28, 2]]);
  assert.deepEqual(await readAll(log), seq(2));
});

Deno.test("RecordLog loses only the corrupt record in the middle of 1,000 and reports it", async () => {
  await using dir = await tempDir("sockkit-log-test-");
  {
    await using log = await RecordLog.open(dir.path, { name: "test log" });
    for (const s of seq(1000)) log.append(enc.encode(s.padStart(8, "x")));
  }
  const file = join(dir.path, "0000000001.log");
  const bytes = Deno.readFileSync(file);
  const recordBytes = bytes.length / 1000;
  bytes[500 * recordBytes + 14]! ^= 0xff;
  Deno.writeFileSync(file, bytes);
  const damage: LogDamage[] = [];
  await using log = await RecordLog.open(dir.path, {
    name: "test log",
    onDamage: (d) => damage.push(d),
  });
  assert.deepEqual(damage.map((d) => [d.kind, d.offset, d.reason]), [
    ["corrupt", 500 * recordBytes, "checksum mismatch"],
  ]);
  const got = await readAll(log);
  assert.equal(got.length, 999);
  assert.ok(!got.includes("xxxxr500"));
  assert.equal(got[500], "xxxxr501");
  log.consume(999);
  assert.equal(log.count, 0);
});

Deno.test("RecordLog refuses an append past its cap and keeps every record it took", async () => {
  await using dir = await tempDir("sockkit-log-test-");
  await using log = await RecordLog.open(dir.path, { name: "test log", maxBytes: 100 });
  log.append(enc.encode("a".repeat(40)));
  assert.throws(() => log.append(enc.encode("b".repeat(40))), (err: unknown) => {
    assert.ok(err instanceof StorageFullError);
    assert.equal(err.reason, "cap");
    assert.match(
      err.message,
      /The test log is full: 52 of 100 bytes used; the record was not stored/,
    );
    return true;
  });
  await log.flush();
  assert.deepEqual(await readAll(log), ["a".repeat(40)]);
  log.consume(1);
  await log.append(enc.encode("b".repeat(40)));
  assert.deepEqual(await readAll(log), ["b".repeat(40)]);
});

Deno.test("RecordLog treats a full disk (ENOSPC) as full, keeps what it stored and resumes when space returns", async (t) => {
  await using dir = await tempDir("sockkit-log-test-");
  await using disk = await smallDisk(dir.path, "small", 64 * 1024);
  if (!disk) return await smallDiskSkipped(t);
  await using log = await RecordLog.open(join(disk.path, "log"), { name: "test log" });
  const stored: string[] = [];
  let error: unknown;
  for (let i = 0; i < 200 && !error; i++) {
    const s = `${i}`.padStart(1000, "x");
    try {
      await log.append(enc.encode(s));
      stored.push(s);
    } catch (err) {
      error = err;
    }
  }
  assert.ok(error instanceof StorageFullError, `got ${error}`);
  assert.equal(error.reason, "disk");
  assert.match(error.message, /The test log cannot grow: the disk is full/);
  assert.ok(log.diskFull);
  assert.ok(stored.length > 10);
  assert.equal(log.count, stored.length);
  assert.deepEqual((await readAll(log)).length, stored.length);
  // space returns: the next append succeeds
  log.consume(stored.length);
  await delay(50);
  await log.append(enc.encode("after"));
  assert.equal(log.diskFull, false);
  assert.deepEqual(await readAll(log), ["after"]);
  await log.close();
});
