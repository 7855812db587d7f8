import assert from "node:assert/strict";
import { LineBatch, NEWLINE_WINDOW, newlinesOf } from "./line_batch.ts";
import { containsLine } from "./line_search.ts";
import { SimdSearcher } from "./simd_search.ts";

const enc = new TextEncoder();

Deno.test("LineBatch finds the same queries as containsLine() on random short lines with \\r and \\r\\n", () => {
  const simd = SimdSearcher.create()!;
  let seed = 7;
  const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  const alphabet = "01;\n\r";
  // More than one newline window, so lines cut by a window edge are covered.
  const text = Array.from({ length: NEWLINE_WINDOW + 5000 }, () => alphabet[Math.floor(rand() * 5)])
    .join("");
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
  for (const [haystack, newlines] of [[bytes, newlinesOf], [hay, simd.newlines]] as const) {
    const found = queries.map(() => false);
    const batch = new LineBatch(queries, open, newlines);
    batch.matchPiece(haystack, { fileStart: true, fileEnd: true }, found);
    assert.deepEqual(found, want);
    assert.equal(batch.open, queries.length - hits);
  }
});

Deno.test("SimdSearcher.newlines() gives every \\n offset of a window, like a plain scan", () => {
  const simd = SimdSearcher.create()!;
  let seed = 3;
  const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  for (let t = 0; t < 300; t++) {
    const len = Math.floor(rand() * 200);
    const bytes = enc.encode(
      Array.from({ length: len }, () => "ab\n"[Math.floor(rand() * 3)]).join(""),
    );
    const hay = simd.buffer(bytes.length);
    hay.set(bytes);
    const from = Math.floor(rand() * (len + 1));
    const to = from + Math.floor(rand() * (len - from + 1));
    assert.deepEqual([...simd.newlines(hay, from, to)], [...newlinesOf(bytes, from, to)]);
  }
  assert.throws(
    () => simd.newlines(simd.buffer(NEWLINE_WINDOW + 1), 0, NEWLINE_WINDOW + 1),
    RangeError,
  );
});
