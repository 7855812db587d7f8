import assert from "node:assert/strict";
import { LogBudget } from "./budget.ts";
import { FakeClock } from "../async/mod.ts";

/** A budget of 3 lines per 100 ms on a fake clock, and the summaries it made. */
function budgetOnFakeClock(): { budget: LogBudget; clock: FakeClock; summaries: string[] } {
  const clock = new FakeClock();
  const summaries: string[] = [];
  const budget = new LogBudget({
    lines: 3,
    windowMs: 100,
    clock,
    onSummary: (n, kind) => summaries.push(`${kind}:${n}`),
  });
  return { budget, clock, summaries };
}

Deno.test("LogBudget lets through so many lines per window and counts the rest for the next one", () => {
  const clock = new FakeClock();
  const budget = new LogBudget({ lines: 3, windowMs: 100, clock });
  assert.deepEqual([budget.take(), budget.take(), budget.take()], [0, 0, 0]);
  assert.deepEqual([budget.take(), budget.take()], [undefined, undefined]);
  clock.advance(99);
  assert.equal(budget.take(), undefined);
  clock.advance(1);
  assert.equal(budget.take(), 3, "the first line of the next window says 3 were not logged");
  assert.equal(budget.take(), 0);
  assert.equal(clock.pending, 0, "no summary asked for: no timer");
});

Deno.test("LogBudget tells the count at the end of the window when no line follows, once per kind", () => {
  const { budget, clock, summaries } = budgetOnFakeClock();
  assert.equal(clock.pending, 0, "no timer while nothing is skipped");
  for (let i = 0; i < 3; i++) budget.take("rejected input");
  clock.advance(10);
  for (let i = 0; i < 500; i++) assert.equal(budget.take("rejected input"), undefined);
  assert.equal(budget.take("bad input"), undefined);
  assert.equal(clock.pending, 1, "one timer while lines are skipped");
  clock.advance(89);
  assert.deepEqual(summaries, [], "not before the window ends");
  clock.advance(1);
  assert.deepEqual(summaries, ["rejected input:500", "bad input:1"]);
  assert.equal(clock.pending, 0);
  assert.equal(budget.take(), 0, "the next line has nothing left to tell");
  clock.advance(1000);
  assert.equal(summaries.length, 2, "silence after a summary tells nothing more");
});

Deno.test("LogBudget.close() tells what is still counted, clears its timer, and is idempotent", () => {
  const b = budgetOnFakeClock();
  for (let i = 0; i < 5; i++) b.budget.take();
  assert.equal(b.clock.pending, 1);
  b.budget.close();
  b.budget.close();
  assert.deepEqual(b.summaries, [":2"]);
  assert.equal(b.clock.pending, 0);
  b.clock.advance(200);
  for (let i = 0; i < 5; i++) b.budget.take();
  assert.equal(b.clock.pending, 0, "a closed budget arms no timer");
});

Deno.test("LogBudget on the real clock tells the count when the window ends, and close() clears its timer", async () => {
  const told: number[] = [];
  const budget = new LogBudget({ lines: 1, windowMs: 50, onSummary: (n) => told.push(n) });
  budget.take();
  budget.take();
  budget.take();
  await new Promise((resolve) => setTimeout(resolve, 120));
  assert.deepEqual(told, [2]);
  budget.take();
  budget.take();
  budget.close(); // the test's leak check fails if the timer outlives the budget
  assert.deepEqual(told, [2, 1]);
});
