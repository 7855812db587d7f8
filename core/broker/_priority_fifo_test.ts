import assert from "node:assert/strict";
import { PriorityFifo } from "./_priority_fifo.ts";

Deno.test("PriorityFifo gives the highest priority first, each priority in order, and clear() keeps every item", () => {
  const f = new PriorityFifo<string>();
  for (const [p, v] of [[0, "a"], [5, "x"], [-1, "z"], [0, "b"], [5, "y"]] as const) f.push(p, v);
  assert.equal(f.size, 5);
  assert.deepEqual([f.shift(), f.shift(), f.shift()], ["x", "y", "a"]);
  f.push(7, "u");
  assert.equal(f.shift(), "u");
  assert.deepEqual(f.clear().sort(), ["b", "z"]);
  assert.equal(f.size, 0);
  assert.equal(f.shift(), undefined);
});
