import assert from "node:assert/strict";
import { threadWorker, webWorker, WorkerClient, WorkerCrashedError } from "./mod.ts";

type M = typeof import("./_test_worker.ts").methods;
const URL_ = new URL("./_test_worker.ts", import.meta.url);

for (
  const [label, spawn] of [
    ["web worker", () => webWorker(URL_)],
    ["worker_threads", () => threadWorker(URL_)],
  ] as const
) {
  Deno.test(`WorkerClient (${label}): calls, failures, events, transfers`, async () => {
    const events: unknown[] = [];
    await using w = new WorkerClient<M>(spawn, {
      name: "Test worker",
      onEvent: (name, data) => events.push([name, data]),
      reviveError: (e) => Object.assign(new Error(e.message), { name: e.name }),
    });
    assert.equal(await w.call("add", { a: 2, b: 3 }), 5);
    assert.deepEqual(await w.call("echo", { x: [1, "a"] }), { x: [1, "a"] });
    // replies are matched by id, whatever order they come in
    const [a, b] = await Promise.all([w.call("slow", 60), w.call("slow", 5)]);
    assert.deepEqual([a, b], [60, 5]);
    await assert.rejects(w.call("fail", "no such key"), {
      name: "CustomError",
      message: "no such key",
    });
    const bytes = await w.call("bytes", 1000);
    assert.equal(bytes.length, 1000);
    assert.equal(bytes[999], 7);
    w.post("notify", "hello");
    await w.call("echo", 0); // the event was sent before this reply
    assert.deepEqual(events, [["note", "hello"]]);
    assert.equal(w.inFlight, 0);
  });

  Deno.test(`WorkerClient (${label}): a crash fails what is in flight with a WorkerCrashedError and a new worker answers`, async () => {
    const crashes: Error[] = [];
    await using w = new WorkerClient<M>(spawn, {
      name: "Test worker",
      onCrash: (e) => crashes.push(e),
    });
    const hung = w.call("hang", undefined);
    await w.call("crash", undefined);
    const err = await hung.then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof WorkerCrashedError, `expected a WorkerCrashedError, got ${err}`);
    assert.match(err.message, /^Test worker crashed: .*boom/);
    assert.equal(err.name, "WorkerCrashedError");
    assert.equal(err.worker, "Test worker");
    assert.match(err.reason, /boom/);
    assert.notEqual(err.code, "ERR_WORKER_OUT_OF_MEMORY");
    assert.equal(
      err.message,
      `Test worker crashed: ${err.reason}`,
      "the message names the worker, then the reason",
    );
    assert.equal(w.crashes, 1);
    assert.deepEqual(crashes, [err], "onCrash gets the error the calls got");
    assert.equal(await w.call("add", { a: 1, b: 1 }), 2, "the new worker answers");
  });

  Deno.test(`WorkerClient (${label}): restart() stops a stuck call; close() fails the rest and is idempotent`, async () => {
    const w = new WorkerClient<M>(spawn, { name: "Test worker" });
    const stuck = w.call("hang", undefined);
    w.restart("the handler took too long");
    await assert.rejects(stuck, (e: Error) => {
      assert.ok(!(e instanceof WorkerCrashedError), "a restart is not a crash");
      assert.equal(e.message, "the handler took too long");
      return true;
    });
    assert.equal(await w.call("add", { a: 2, b: 2 }), 4);
    const left = w.call("hang", undefined);
    const t0 = performance.now();
    await Promise.all([w.close({ goodbye: "bye", timeoutMs: 1000 }), w.close()]);
    assert.ok(performance.now() - t0 < 900, "the goodbye was answered, no need to wait");
    await assert.rejects(left, /Test worker is closed/);
    await assert.rejects(w.call("add", { a: 1, b: 1 }), /Test worker is closed/);
  });
}

Deno.test("WorkerClient (worker_threads): a worker stopped at its heap cap fails with code ERR_WORKER_OUT_OF_MEMORY", async () => {
  // Deno stops a worker_threads worker at its cap while its module runs; a
  // handler that fills the heap later may instead stall (the pool's time limit).
  const hog = new URL("./_test_hog_worker.ts", import.meta.url);
  const crashed = Promise.withResolvers<Error>();
  await using w = new WorkerClient<M>(
    () => threadWorker(hog, { resourceLimits: { maxOldGenerationSizeMb: 16 } }),
    { name: "Test worker", respawn: false, onCrash: crashed.resolve },
  );
  const call = w.call("add", { a: 1, b: 2 }).then(() => undefined, (e: unknown) => e);
  const err = await crashed.promise;
  assert.ok(err instanceof WorkerCrashedError, `expected a WorkerCrashedError, got ${err}`);
  assert.equal(err.code, "ERR_WORKER_OUT_OF_MEMORY");
  assert.match(err.message, /^Test worker crashed: .*memory limit/);
  assert.equal(await call, err, "the call in flight got the same error");
});

Deno.test("WorkerClient: a goodbye that never comes is waited for at most timeoutMs", async () => {
  const w = new WorkerClient<M>(() => webWorker(URL_), { name: "Test worker" });
  const t0 = performance.now();
  await w.close({ goodbye: "hang", timeoutMs: 100 });
  const took = performance.now() - t0;
  assert.ok(took >= 90 && took < 2000, `closed after ${took} ms`);
});
