import assert from "node:assert/strict";
import { pct } from "./percentile.ts";

Deno.test("pct() takes the value at floor(length * p), the last one at p = 1", async (t) => {
  const hundred = Array.from({ length: 100 }, (_, i) => i + 1); // 1..100
  for (
    const [p, want] of [[0, 1], [0.5, 51], [0.99, 100], [1, 100]] as const
  ) {
    await t.step(`p ${p} of 1..100 is ${want}`, () => assert.equal(pct(hundred, p), want));
  }
  await t.step("p50 of 2000 samples is the 1001st", () => {
    const s = Float64Array.from({ length: 2000 }, (_, i) => i);
    assert.equal(pct(s, 0.5), 1000);
    assert.equal(pct(s, 0.99), 1980);
  });
  await t.step("one sample is every percentile", () => assert.equal(pct([7], 0.99), 7));
});

Deno.test("pct() of no samples is 0, or what options.empty says", () => {
  assert.equal(pct([], 0.5), 0);
  assert.ok(Number.isNaN(pct([], 0.99, { empty: NaN })));
});
