import assert from "node:assert/strict";
import { LogBudget } from "./budget.ts";

Deno.test("LogBudget lets through so many lines per window and counts the rest for the next one", () => {
  let now = 1000;
  const budget = new LogBudget({ lines: 3, windowMs: 100, now: () => now });
  assert.deepEqual([budget.take(), budget.take(), budget.take()], [0, 0, 0]);
  assert.deepEqual([budget.take(), budget.take()], [undefined, undefined]);
  now += 99;
  assert.equal(budget.take(), undefined);
  now += 1;
  assert.equal(budget.take(), 3, "the first line of the next window says 3 were not logged");
  assert.equal(budget.take(), 0);
});
