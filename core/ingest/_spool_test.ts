import assert from "node:assert/strict";
import { join } from "node:path";
import { Spool, SpoolFullError } from "./_spool.ts";
import type { StoreBatch } from "./_store.ts";
import { DirectoryInUseError } from "../storage/mod.ts";

function rec(i: number): StoreBatch {
  const wire = new TextEncoder().encode(`*1\r\n$4\r\nPING\r\n`);
  return { wire, counts: [1], atomic: "object", marker: `m${i}` };
}

async function drain(spool: Spool): Promise<string[]> {
  const out: string[] = [];
  for (let r = await spool.peek(); r; r = await spool.peek()) {
    assert.equal(new TextDecoder().decode(r.wire), "*1\r\n$4\r\nPING\r\n");
    out.push(r.marker!);
    await spool.commit();
  }
  return out;
}

Deno.test("Spool hands records back in order across segments and reopening, then deletes them", async () => {
  const dir = await Deno.makeTempDir();
  try {
    {
      await using s = await Spool.open(dir, { segmentBytes: 200, sync: false });
      for (let i = 0; i < 10; i++) await s.append(rec(i));
      assert.equal(s.records, 10);
    }
    await using s = await Spool.open(dir, { segmentBytes: 200, sync: false });
    assert.equal(s.records, 10);
    assert.deepEqual(await drain(s), Array.from({ length: 10 }, (_, i) => `m${i}`));
    assert.ok(s.empty);
    await s.append(rec(10));
    assert.deepEqual(await drain(s), ["m10"]);
    assert.deepEqual([...Deno.readDirSync(dir)].filter((e) => e.name.endsWith(".log")), []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Spool refuses records past its cap unless forced", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await using s = await Spool.open(dir, { maxBytes: 150, sync: false });
    await s.append(rec(0));
    await assert.rejects(() => s.append(rec(1)), SpoolFullError);
    await s.append(rec(1), true);
    assert.deepEqual(await drain(s), ["m0", "m1"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Spool skips a torn record left by a crash and keeps the ones before it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    {
      await using s = await Spool.open(dir, { sync: false });
      await s.append(rec(0));
      await s.append(rec(1));
    }
    const [seg] = [...Deno.readDirSync(dir)];
    const path = join(dir, seg!.name);
    const data = Deno.readFileSync(path);
    Deno.writeFileSync(path, data.subarray(0, data.length - 5));
    await using s = await Spool.open(dir, { sync: false });
    assert.deepEqual(await drain(s), ["m0"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a spool directory is used by one spool at a time; it is free again once that one closes", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const first = await Spool.open(dir, { sync: false });
    await assert.rejects(
      Spool.open(dir, { sync: false }),
      (err: Error) =>
        err instanceof DirectoryInUseError && /ingest spool directory/.test(err.message),
    );
    await first.close();
    await (await Spool.open(dir, { sync: false })).close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
