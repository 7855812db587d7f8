import assert from "node:assert/strict";
import { delay, MAX_TIMER_MS, settlesWithin, systemClock } from "./mod.ts";

Deno.test("delay waits about the time asked", async () => {
  const t0 = performance.now();
  await delay(30);
  assert.ok(performance.now() - t0 >= 25);
});

Deno.test("delay rejects with the signal's reason on abort and leaves no timer", async () => {
  const ac = new AbortController();
  const wait = delay(60_000, { signal: ac.signal });
  ac.abort(new Error("stop"));
  await assert.rejects(wait, /stop/);
  // Deno's test sanitizer fails this test if the 60 s timer were still pending.
});

Deno.test("delay on an already aborted signal rejects at once", async () => {
  await assert.rejects(delay(60_000, { signal: AbortSignal.abort(new Error("gone")) }), /gone/);
});

Deno.test("delay removes its abort listener when it ends normally", async () => {
  const ac = new AbortController();
  let added = 0;
  let removed = 0;
  const sig = ac.signal;
  const add = sig.addEventListener.bind(sig);
  const remove = sig.removeEventListener.bind(sig);
  sig.addEventListener = ((...a: Parameters<typeof add>) => (added++, add(...a))) as typeof add;
  sig.removeEventListener =
    ((...a: Parameters<typeof remove>) => (removed++, remove(...a))) as typeof remove;
  for (let i = 0; i < 5; i++) await delay(1, { signal: sig });
  assert.equal(added, 5);
  assert.equal(removed, 5);
});

Deno.test("settlesWithin says whether the promise settled in time", async () => {
  assert.equal(await settlesWithin(delay(5), 1000), true);
  assert.equal(await settlesWithin(Promise.reject(new Error("x")), 1000), true);
  const never = new Promise(() => {});
  assert.equal(await settlesWithin(never, 20), false);
});

Deno.test("systemClock.after waits a delay longer than setTimeout keeps (2^31 - 1 ms) instead of firing at once", async () => {
  let fired = false;
  const t = systemClock.after(MAX_TIMER_MS + 1, () => fired = true);
  await delay(50);
  t.clear();
  assert.equal(fired, false);
  let soon = false;
  systemClock.after(1, () => soon = true);
  await delay(20);
  assert.equal(soon, true, "a short one still fires");
});
