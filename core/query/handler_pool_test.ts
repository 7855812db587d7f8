import assert from "node:assert/strict";
import { join } from "node:path";
import { HandlerPool, type HandlerPoolOptions } from "./handler_pool.ts";
import { delay } from "../async/mod.ts";
import { createLogger } from "../log/mod.ts";

const HANDLER = `
export default async function handler(query, data) {
  if (query === "never") return new Promise(() => {});
  if (query === "crash") { setTimeout(() => { throw new Error("late crash"); }, 0); return "soon"; }
  if (query === "slow") { await new Promise((r) => setTimeout(r, 20)); return "slow done"; }
  if (query === "big") return 10n;
  return String(data.table?.[query] ?? "NOT FOUND");
}
`;

/** Runs `fn` with a started pool of the handler module `source` (default {@linkcode HANDLER}). */
async function withPool(
  fn: (pool: HandlerPool) => Promise<void>,
  options: HandlerPoolOptions = { timeoutMs: 300 },
  source: string = HANDLER,
): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(join(dir, "h.js"), source);
    await using pool = new HandlerPool(join(dir, "h.js"), options);
    await pool.start({ table: { a: 1 } });
    await fn(pool);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("HandlerPool.run() answers from the data and sees setData() updates", async () => {
  await withPool(async (pool) => {
    assert.deepEqual(await pool.run("t", "a"), { ok: true, text: "1" });
    pool.setData("table", { a: 2 });
    assert.deepEqual(await pool.run("t", "a"), { ok: true, text: "2" });
    assert.deepEqual(await pool.run("j", '"a"'), { ok: true, text: '"2"' });
    assert.deepEqual(await pool.run("t", "slow"), { ok: true, text: "slow done" });
  });
});

Deno.test("HandlerPool.run() turns a promise that never settles into a time-limit error", async () => {
  await withPool(async (pool) => {
    const [stuck, fine] = await Promise.all([pool.run("t", "never"), pool.run("t", "a")]);
    assert.deepEqual(fine, { ok: true, text: "1" });
    assert.equal(stuck.ok, false);
    assert.match(!stuck.ok ? stuck.error : "", /within the 300 ms time limit/);
    assert.deepEqual(await pool.run("t", "a"), { ok: true, text: "1" });
  });
});

Deno.test("HandlerPool replaces a worker that crashes, logs what it died of, and keeps answering", async () => {
  const lines: string[] = [];
  const logger = createLogger({ format: "json", sink: (l) => lines.push(l) });
  await withPool(async (pool) => {
    assert.deepEqual(await pool.run("t", "crash"), { ok: true, text: "soon" });
    let answer;
    for (let i = 0; i < 10_000 && pool.replaced === 0; i++) {
      answer = await pool.run("t", "a");
      assert.deepEqual(answer, { ok: true, text: "1" });
      await delay(1);
    }
    assert.equal(pool.replaced, 1, "the crashed worker was replaced");
    assert.deepEqual(await pool.run("t", "a"), { ok: true, text: "1" });
  }, { timeoutMs: 300, logger });
  const crashes = lines.map((l) => JSON.parse(l)).filter((e) => /crashed/.test(e.msg));
  assert.equal(crashes.length, 1, lines.join("\n"));
  // The cause alone, without the "The handler worker crashed: " of the message.
  assert.match(crashes[0].error, /late crash/);
  assert.doesNotMatch(crashes[0].error, /The handler worker crashed/);
});

Deno.test("HandlerPool.run() reports a reply that cannot be sent as JSON", async () => {
  await withPool(async (pool) => {
    const r = await pool.run("j", '"big"');
    assert.equal(r.ok, false);
    assert.match(!r.ok ? r.error : "", /cannot be sent as JSON/);
  });
});

Deno.test("HandlerPool.start() rejects a module without a default export function", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(join(dir, "h.js"), "export const handler = () => 1;\n");
    const pool = new HandlerPool(join(dir, "h.js"));
    await assert.rejects(() => pool.start(), /has no default export function/);
    await pool.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("HandlerPool answers a synchronous handler's batches, small and larger than its shared-memory lane, each with its own reply", async () => {
  await withPool(
    async (pool) => {
      const big = "x".repeat(3 << 20);
      const queries = [
        ...Array.from({ length: 300 }, (_, i) => `q${i}`),
        big,
        "é€😀",
        ...Array.from({ length: 50 }, (_, i) => `r${i}`),
      ];
      const answers = await Promise.all(queries.map((q) => pool.run("t", q)));
      answers.forEach((a, i) => {
        const q = queries[i]!;
        const want = q.startsWith("x") ? `${q.length}:${"y".repeat(q.length)}` : `got ${q}`;
        assert.ok(a.ok && a.text === want, `query ${i} answered with its own reply`);
      });
    },
    { size: 1 },
    "export default (q) => q.startsWith('x') ? `${q.length}:` + 'y'.repeat(q.length) : `got ${q}`;\n",
  );
});

Deno.test("HandlerPool keeps a batch of slow queries within the time limit: each is answered, no worker is replaced", async () => {
  // 15 ms of work per query, synchronously; the limit is 200 ms per query
  const slow =
    "export default (q) => { const end = Date.now() + 15; while (Date.now() < end); return `got ${q}`; };\n";
  await withPool(
    async (pool) => {
      // Before: all 40 went in one batch (600 ms), so the ones at its end passed the limit
      // counted from the batch start, and the worker was replaced to run them again one by one.
      const answers = await Promise.all(
        Array.from({ length: 40 }, (_, i) => pool.run("t", `q${i}`)),
      );
      answers.forEach((a, i) => assert.deepEqual(a, { ok: true, text: `got q${i}` }));
      assert.equal(pool.replaced, 0);
    },
    { size: 1, timeoutMs: 200 },
    slow,
  );
});

Deno.test("HandlerPool restarts a timed-out worker with the latest data and the next batch goes to it", async () => {
  await withPool(async (pool) => {
    pool.setData("table", { a: 3 });
    assert.deepEqual(await pool.run("t", "a"), { ok: true, text: "3" });
    const stuck = await pool.run("t", "never");
    assert.match(!stuck.ok ? stuck.error : "", /within the 200 ms time limit/);
    assert.equal(pool.replaced, 1);
    assert.equal(pool.workers, 1);
    assert.deepEqual(await pool.run("t", "a"), { ok: true, text: "3" });
    pool.setData("table", { a: 4 });
    assert.deepEqual(await pool.run("j", '"a"'), { ok: true, text: '"4"' });
  }, { size: 1, timeoutMs: 200 });
});

Deno.test("HandlerPool refuses a query once maxQueued are waiting and answers the others", async () => {
  await withPool(async (pool) => {
    // Submitted in one turn: the first is sent, two wait, the fourth finds the queue full.
    const answers = await Promise.all(["a", "a", "a", "a"].map((q) => pool.run("t", q)));
    assert.deepEqual(answers.slice(0, 3), Array(3).fill({ ok: true, text: "1" }));
    assert.deepEqual(answers[3], {
      ok: false,
      error: "The server is busy: 2 queries are waiting (try again later)",
    });
    assert.deepEqual(await pool.run("t", "a"), { ok: true, text: "1" });
  }, { size: 1, maxQueued: 2 });
});

Deno.test("HandlerPool answers at once, with an error, a query whose handler throws a value String() cannot convert", async () => {
  const source = `
async function later(query) {
  await null;
  if (query === "async") throw Object.create(null);
  return "fine";
}
export default (query) => {
  if (query === "sync") throw Object.create(null);
  return later(query);
};
`;
  await withPool(
    async (pool) => {
      const started = performance.now();
      for (const q of ["sync", "async"]) {
        const r = await pool.run("t", q);
        assert.deepEqual(r, {
          ok: false,
          error: "The handler failed: a thrown value with no string form (object)",
        }, q);
      }
      // Before, the sync throw escaped and the worker's lane stopped serving; the async one was never answered.
      assert.ok(performance.now() - started < 2_500, "answered before the time limit");
      assert.deepEqual(await pool.run("t", "other"), { ok: true, text: "fine" });
      assert.equal(pool.replaced, 0);
    },
    { size: 1, timeoutMs: 5_000 },
    source,
  );
});

Deno.test("HandlerPool refuses a query once the waiting ones hold maxQueuedChars characters, and runs one larger than that when none waits", async () => {
  const source =
    "export default (q) => { if (q === 'hold') { const end = Date.now() + 300; while (Date.now() < end); } return `${q.length}`; };\n";
  await withPool(
    async (pool) => {
      const held = pool.run("t", "hold");
      await delay(50); // "hold" is running; what follows waits
      const waiting = [pool.run("t", "a".repeat(400)), pool.run("t", "b".repeat(400))];
      const refused = await pool.run("t", "c".repeat(400));
      assert.deepEqual(refused, {
        ok: false,
        error:
          "The server is busy: 2 queries of 800 characters in all are waiting (at most 1000) (try again later)",
      });
      // A short one still fits.
      const short = pool.run("t", "d".repeat(100));
      assert.deepEqual(await Promise.all([held, ...waiting, short]), [
        { ok: true, text: "4" },
        { ok: true, text: "400" },
        { ok: true, text: "400" },
        { ok: true, text: "100" },
      ]);
      // Nothing waits: a query over the cap alone is run.
      assert.deepEqual(await pool.run("t", "e".repeat(5000)), { ok: true, text: "5000" });
    },
    { size: 1, timeoutMs: 5_000, maxQueuedChars: 1000 },
    source,
  );
});
