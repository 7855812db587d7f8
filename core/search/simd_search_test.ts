import assert from "node:assert/strict";
import { SimdSearcher } from "./simd_search.ts";
import { containsLine } from "./line_search.ts";

const enc = new TextEncoder();

Deno.test("SimdSearcher.find() agrees with String.prototype.indexOf on random text", () => {
  const simd = SimdSearcher.create();
  assert.ok(simd, "WebAssembly SIMD is available in Deno");
  let seed = 11;
  const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  for (const alphabet of ["01;\n", "ab\n", "abcdefghij\n"]) {
    const text = Array.from({ length: 3000 }, () => alphabet[Math.floor(rand() * alphabet.length)])
      .join("");
    const bytes = enc.encode(text);
    const hay = simd.buffer(bytes.length);
    hay.set(bytes);
    for (let k = 0; k < 400; k++) {
      const len = 2 + Math.floor(rand() * 12);
      const needle = Array.from(
        { length: len },
        () => alphabet[Math.floor(rand() * alphabet.length)],
      ).join("");
      const from = Math.floor(rand() * 3000);
      assert.equal(simd.find(hay, enc.encode(needle), from), text.indexOf(needle, from), needle);
    }
  }
});

Deno.test("SimdSearcher drives containsLine() over a buffer it grew, first and last lines included", () => {
  const simd = SimdSearcher.create()!;
  const lines = Array.from({ length: 20000 }, (_, i) => `line ${i};`);
  const bytes = enc.encode(lines.join("\r\n"));
  simd.buffer(10); // grow later
  const hay = simd.buffer(bytes.length);
  hay.set(bytes);
  for (
    const [q, want] of [["line 0;", true], ["line 19999;", true], ["line 777;", true], [
      "line 77",
      false,
    ], ["ine 5;", false]] as const
  ) {
    assert.equal(containsLine(hay, enc.encode(q), simd.find), want, q);
  }
});

Deno.test("SimdSearcher.findLine() returns the first line match at every offset of its 64-byte step, before and after a near miss", () => {
  const simd = SimdSearcher.create()!;
  const needle = enc.encode("\nq7;"); // as containsLine searches: "\n" then the line
  for (let k = 0; k < 200; k++) {
    // filler lines, a near miss ("q7;" not ending a line) somewhere before, then the line twice
    const filler = "ab;\n".repeat(60).slice(0, k);
    const miss = k % 3 === 0 ? "\nq7;x" : "";
    const text = `${filler}${miss}\nq7;\n${"cd;\n".repeat(k % 17)}\nq7;\nzz;\n${
      "ef;\n".repeat(30)
    }`;
    const bytes = enc.encode(text);
    const hay = simd.buffer(bytes.length);
    hay.set(bytes);
    const first = text.indexOf("\nq7;\n");
    assert.equal(simd.findLine(hay, needle, 0), first, `offset ${k}`);
    assert.equal(simd.findLine(hay, needle, first + 1), text.indexOf("\nq7;\n", first + 1));
  }
});
