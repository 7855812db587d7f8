import assert from "node:assert/strict";
import { join } from "node:path";
import { SearchWorkerPool } from "./worker_pool.ts";
import { SearchFileError } from "./file_bytes.ts";

const enc = new TextEncoder();

Deno.test("SearchWorkerPool answers many concurrent scans of two files correctly", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const a = join(dir, "a.txt");
    const b = join(dir, "b.txt");
    await Deno.writeTextFile(a, Array.from({ length: 1000 }, (_, i) => `a-${i}`).join("\n"));
    await Deno.writeTextFile(b, Array.from({ length: 1000 }, (_, i) => `b-${i}`).join("\r\n"));
    await using pool = new SearchWorkerPool({ size: 2 });
    const asks = Array.from({ length: 300 }, (_, i) => {
      const file = i % 3 === 0 ? b : a;
      const prefix = file === a ? "a" : "b";
      const q = i % 2 === 0 ? `${prefix}-${i}` : `${prefix}-${i}x`;
      return { file, q, want: i % 2 === 0 };
    });
    const got = await Promise.all(asks.map((x) => pool.scan(x.file, enc.encode(x.q))));
    got.forEach((found, i) => assert.equal(found, asks[i]!.want, asks[i]!.q));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("SearchWorkerPool rejects scans of a missing file with a SearchFileError and builds indexes", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await using pool = new SearchWorkerPool({ size: 1 });
    await assert.rejects(pool.scan(join(dir, "none.txt"), enc.encode("x")), (err) => {
      assert.ok(err instanceof SearchFileError);
      assert.equal(err.problem, "missing");
      return true;
    });
    const file = join(dir, "w.txt");
    await Deno.writeTextFile(file, "x\ny\n");
    const built = await pool.build(file);
    assert.equal(built.table.size, 2);
    assert.equal(built.table.has(enc.encode("y")), true);
    await pool.close();
    await assert.rejects(pool.scan(file, enc.encode("x")), /closed/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("SearchWorkerPool splits a read over its workers and still answers every query and the next change", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = join(dir, "w.txt");
    const lines = Array.from({ length: 5000 }, (_, i) => `line-${i};`);
    await Deno.writeTextFile(file, lines.join("\n") + "\n");
    // Every file is split over the three workers.
    await using pool = new SearchWorkerPool({ size: 3, splitFromBytes: 0 });
    assert.equal(await pool.scan(file, enc.encode("line-0;")), true); // learns the size
    const asks = Array.from({ length: 200 }, (_, i) => {
      const n = (i * 997) % 5000;
      return { q: i % 2 === 0 ? `line-${n};` : `line-${n}`, want: i % 2 === 0 };
    });
    const got = await Promise.all(asks.map((x) => pool.scan(file, enc.encode(x.q))));
    got.forEach((found, i) => assert.equal(found, asks[i]!.want, asks[i]!.q));
    for (const q of ["line-0;", "line-2500;", "line-4999;"]) {
      assert.equal(await pool.scan(file, enc.encode(q)), true, q);
    }
    await Deno.writeTextFile(file, "appended\n", { append: true });
    assert.equal(await pool.scan(file, enc.encode("appended")), true);
    await Deno.writeTextFile(file, "short\nfile\n");
    assert.equal(await pool.scan(file, enc.encode("line-4999;")), false);
    assert.equal(await pool.scan(file, enc.encode("file")), true);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("SearchWorkerPool lets another client's query into the next read ahead of one client's backlog", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = join(dir, "w.txt");
    await Deno.writeTextFile(file, Array.from({ length: 1000 }, (_, i) => `line-${i}`).join("\n"));
    await using pool = new SearchWorkerPool({ size: 1 });
    const flooder = {};
    const done: string[] = [];
    // 1 + 3 reads of at most 256 for the flooder; the victim asks after all 700.
    const flood = Array.from(
      { length: 700 },
      (_, i) =>
        pool.scan(file, enc.encode(`line-${i}`), { client: flooder }).then((found) => {
          done.push(`flooder ${i}`);
          return found;
        }),
    );
    const victim = pool.scan(file, enc.encode("line-999"), { client: {} }).then((found) => {
      done.push("victim");
      return found;
    });
    assert.equal(await victim, true);
    const flooderAnswers = await Promise.all(flood);
    assert.ok(flooderAnswers.every((found) => found));
    // The victim shares the flooder's second read (the first started with the flooder's first query alone).
    assert.ok(done.indexOf("victim") <= 256, `victim answered at ${done.indexOf("victim")}`);
    const order = done.filter((d) => d !== "victim");
    assert.deepEqual(order, flood.map((_, i) => `flooder ${i}`), "each client's queries in order");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
