/**
 * The wake-up probe `tools/bench_machine.ts` runs as a subprocess: this
 * module, started as a program, runs itself as a Web Worker and times
 * `postMessage` round trips between the two threads; as the worker, it
 * echoes each message. Prints one JSON line, `{"p50":ms,"p90":ms,"p99":ms}`.
 *
 * Each round trip wakes a thread that was waiting, so on two idle CPUs it
 * includes twice the time the machine takes to wake an idle CPU; under
 * `taskset -c CPU` both threads share one CPU and no idle CPU is woken.
 *
 * @module
 */

/** Round trips timed (after as many untimed ones to warm up). */
export const ROUND_TRIPS = 2000;

/** The name the probe gives its worker. */
const WORKER_NAME = "sockkit-wake-probe";

/** The `p` quantile of sorted `ms`. */
function at(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

async function probe(): Promise<{ p50: number; p90: number; p99: number }> {
  const worker = new Worker(import.meta.url, { type: "module", name: WORKER_NAME });
  try {
    let answered: () => void = () => {};
    worker.onmessage = () => answered();
    const once = () =>
      new Promise<void>((resolve) => {
        answered = resolve;
        worker.postMessage(0);
      });
    for (let i = 0; i < ROUND_TRIPS; i++) await once();
    const ms: number[] = [];
    for (let i = 0; i < ROUND_TRIPS; i++) {
      const t = performance.now();
      await once();
      ms.push(performance.now() - t);
    }
    ms.sort((a, b) => a - b);
    return { p50: at(ms, 0.5), p90: at(ms, 0.9), p99: at(ms, 0.99) };
  } finally {
    worker.terminate();
  }
}

// deno-lint-ignore no-explicit-any
const scope = globalThis as any;
if (scope.name === WORKER_NAME) {
  scope.onmessage = (e: MessageEvent) => scope.postMessage(e.data);
} else if (import.meta.main) {
  console.log(JSON.stringify(await probe()));
}
