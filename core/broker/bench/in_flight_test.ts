import assert from "node:assert/strict";
import { keepInFlight } from "./in_flight.ts";
import { delay } from "../../async/mod.ts";

Deno.test("keepInFlight() starts every index in order and never more than the limit at once", async () => {
  const started: number[] = [];
  let open = 0;
  let most = 0;
  await keepInFlight(50, 4, async (i) => {
    started.push(i);
    most = Math.max(most, ++open);
    await delay(i % 3); // settle out of order
    open--;
  });
  assert.deepEqual(started, Array.from({ length: 50 }, (_, i) => i));
  assert.equal(most, 4);
  assert.equal(open, 0);
});

Deno.test("keepInFlight() starts the next one as soon as one settles, not when a batch does", async () => {
  const order: string[] = [];
  await keepInFlight(3, 2, async (i) => {
    order.push(`start ${i}`);
    await delay(i === 0 ? 50 : 1);
    order.push(`end ${i}`);
  });
  assert.deepEqual(order, ["start 0", "start 1", "end 1", "start 2", "end 2", "end 0"]);
});

Deno.test("keepInFlight() rejects with the first error and starts nothing after it", async () => {
  const started: number[] = [];
  await assert.rejects(
    keepInFlight(100, 3, async (i) => {
      started.push(i);
      await delay(1);
      if (i === 5) throw new Error("send 5 failed");
    }),
    { message: "send 5 failed" },
  );
  await delay(10);
  assert.ok(Math.max(...started) <= 5 + 2, `started ${started.join(",")}`);
});

Deno.test("keepInFlight() with nothing to do resolves, and a bad limit is a RangeError", async () => {
  let calls = 0;
  await keepInFlight(0, 8, () => Promise.resolve(calls++));
  assert.equal(calls, 0);
  await assert.rejects(keepInFlight(10, 0, () => Promise.resolve()), {
    name: "RangeError",
    message: "Invalid in-flight limit 0: expected a whole number of at least 1",
  });
});
