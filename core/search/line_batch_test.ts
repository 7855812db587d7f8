import assert from "node:assert/strict";
import { LineBatch, plainLineFilter } from "./line_batch.ts";
import { containsLine } from "./line_search.ts";
import { SimdSearcher } from "./simd_search.ts";

const enc = new TextEncoder();

Deno.test("LineBatch finds the same queries as containsLine() on random short lines with \\r and \\r\\n", () => {
  const simd = SimdSearcher.create()!;
  let seed = 7;
  const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  const alphabet = "01;\n\r";
  const text = Array.from({ length: 100_000 }, () => alphabet[Math.floor(rand() * 5)]).join("");
  const bytes = enc.encode(text);
  const hay = simd.buffer(bytes.length);
  hay.set(bytes);
  const queries = Array.from({ length: 400 }, () => {
    const len = 1 + Math.floor(rand() * 6);
    return enc.encode(Array.from({ length: len }, () => "01;\r"[Math.floor(rand() * 4)]).join(""));
  });
  const want = queries.map((q) => containsLine(bytes, q));
  const hits = want.filter(Boolean).length;
  assert.ok(hits > 40 && hits < 360, `a mix of present and absent queries (${hits} present)`);
  const open = queries.map((_, i) => i);
  for (const [haystack, filter] of [[bytes, plainLineFilter()], [hay, simd.lineFilter]] as const) {
    for (const fileStart of [true, false]) {
      // A piece that does not start the file starts with the "\n" before its first line.
      const from = fileStart ? 0 : haystack.indexOf(0x0a);
      const piece = haystack.subarray(from);
      const expect = fileStart
        ? want
        : queries.map((q) => containsLine(piece, q, undefined, { fileStart }));
      const found = queries.map(() => false);
      const batch = new LineBatch(queries, open, filter);
      batch.matchPiece(piece, { fileStart, fileEnd: true }, found);
      assert.deepEqual(found, expect);
      assert.equal(batch.open, expect.filter((f) => !f).length);
    }
  }
});

Deno.test("The SIMD line filter resumes where its output filled up: every line equal to a query is found", () => {
  const simd = SimdSearcher.create()!;
  // 100,000 lines in one bucket: more candidates than one call's output holds.
  const lines = Array.from({ length: 100_000 }, (_, i) => (i === 99_999 ? "abd" : "abc"));
  const bytes = enc.encode(lines.join("\r\n") + "\n");
  const hay = simd.buffer(bytes.length);
  hay.set(bytes);
  const queries = ["abc", "abd", "abe"].map((q) => enc.encode(q));
  const found = queries.map(() => false);
  const batch = new LineBatch(queries, [0, 1, 2], simd.lineFilter);
  batch.matchPiece(hay, { fileStart: true, fileEnd: true }, found);
  assert.deepEqual(found, [true, true, false]);
});
