/**
 * The machine rows of `deno task bench`: how busy the machine was (the
 * 1-minute load average before and after the benches) and how long it takes
 * to wake a waiting thread (`_wake_probe.ts`: a `postMessage` round trip
 * between two threads, next to the same with both on one CPU). Figures
 * bound by latency (one message in flight, a p99, one query in flight) are
 * made of such wake-ups; where waking an idle CPU is slow (a VM whose idle
 * CPUs halt without polling), they move with it, the anchors' as well as
 * sockkit's.
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import type { BenchResult, BenchRow } from "./bench.ts";

const PROBE = fileURLToPath(new URL("./_wake_probe.ts", import.meta.url));

/** Round-trip quantiles of one probe run, ms. */
export interface WakeFigures {
  p50: number;
  p90: number;
  p99: number;
}

/** The 1-minute load average (`Deno.loadavg`), or `undefined` where the system has none. */
export function loadAverage(): number | undefined {
  try {
    return Deno.loadavg()[0];
  } catch {
    return undefined;
  }
}

/** The first CPU this process may run on (`Cpus_allowed_list` in `/proc/self/status`), else 0. */
export function firstAllowedCpu(status = readStatus()): number {
  const list = /^Cpus_allowed_list:\s*(\d+)/m.exec(status)?.[1];
  return list === undefined ? 0 : Number(list);
}

function readStatus(): string {
  try {
    return Deno.readTextFileSync("/proc/self/status");
  } catch {
    return "";
  }
}

/**
 * Runs the wake-up probe in a subprocess, under `taskset -c CPU` (the first
 * CPU allowed here) when `oneCpu`. Resolves `undefined` when the one-CPU run
 * cannot be made (no `taskset`, or it refuses); rejects, naming the command,
 * when the probe itself fails.
 */
export async function probeWakeUps(oneCpu: boolean): Promise<WakeFigures | undefined> {
  const deno = [Deno.execPath(), "run", "--allow-read", PROBE];
  const [program, ...args] = oneCpu ? ["taskset", "-c", String(firstAllowedCpu()), ...deno] : deno;
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command(program!, {
      args,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    })
      .output();
  } catch (err) {
    if (oneCpu && err instanceof Deno.errors.NotFound) return undefined;
    throw err;
  }
  const text = new TextDecoder().decode(out.stdout).trim();
  if (!out.success) {
    const why = new TextDecoder().decode(out.stderr).trim().split("\n")[0] ?? "";
    if (oneCpu && why.startsWith("taskset:")) return undefined; // refused before the probe ran
    throw new Error(
      `Wake-up probe failed: "${[program, ...args].join(" ")}" exited ${out.code}: ${why}`,
    );
  }
  return JSON.parse(text) as WakeFigures;
}

const round = (ms: number) => Math.round(ms * 1000) / 1000;

/** The rows of the wake-up probe: p50, p90 and p99, each next to the one-CPU run. */
export function wakeRows(spread: WakeFigures, oneCpu: WakeFigures | undefined): BenchRow[] {
  return (["p50", "p90", "p99"] as const).map((q) => {
    const row: BenchRow = {
      figure: `thread wake-up: postMessage round trip between two threads, ${q}`,
      value: round(spread[q]),
      unit: "ms",
    };
    if (oneCpu) {
      row.anchor = "the same, both threads on one CPU (taskset -c)";
      row.anchorValue = round(oneCpu[q]);
    }
    return row;
  });
}

/** The load-average row, `when` being "before" or "after" the benches. */
export function loadRow(when: "before" | "after"): BenchRow[] {
  const load = loadAverage();
  return load === undefined
    ? []
    : [{ figure: `load average (1 min) ${when} the benches`, value: load, unit: "" }];
}

/**
 * The machine rows measured before the benches: the load average, then the
 * wake-up probe (a probe that fails is a second, failed result; the load
 * average stays).
 */
export async function machineBefore(): Promise<BenchResult[]> {
  const rows = loadRow("before");
  try {
    const spread = await probeWakeUps(false);
    rows.push(...wakeRows(spread!, await probeWakeUps(true)));
  } catch (err) {
    return [{ service: "machine", status: "ok", rows }, {
      service: "machine",
      status: "failed",
      note: (err as Error).message,
    }];
  }
  return [{ service: "machine", status: "ok", rows }];
}
