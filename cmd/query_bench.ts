/**
 * `sockkit query bench`: queries/s and p50/p99 over UDP and TCP, plain and
 * encrypted, against a generated CSV (100k rows by default), with a plain
 * Python `socketserver` UDP server doing the same lookup as the anchor,
 * measured in the same run at 1 and 32 queries in flight, and the runtime
 * ceiling (the same UDP path with the handler inline, no worker) beside it.
 */
import { Command, InvalidArgumentError, Option } from "@commander-js/extra-typings";
import { anchorOf, anchorRatios, ceilingRatios, runQueryBench } from "../core/query/bench/mod.ts";
import { action, globals, intArg, loggerFrom } from "./_cli.ts";
import { startProgress } from "./_progress.ts";

/** sockkit's plain UDP queries/s over the Python anchor's, at every level in flight. */
const TARGET_RATIO = 1.5;

const fmt = (n: number, digits = 0) =>
  Number.isFinite(n)
    ? n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits })
    : "-";

function levels(v: string): number[] {
  const parse = intArg(1, 1024);
  const out = v.split(",").map((s) => parse(s.trim()));
  if (out.length === 0) throw new InvalidArgumentError("expected a list like 1,32");
  return out;
}

/** Builds the `query bench` command. */
export function queryBenchCommand() {
  return new Command("bench")
    .summary("queries/s and p50/p99 over UDP and TCP, against a Python socketserver anchor")
    .description(
      "Measure queries/s and p50/p99 latency over UDP and TCP, plain and encrypted, against a " +
        "generated CSV on loopback. The anchor, run in the same run by the same load generator, " +
        "is a plain Python socketserver UDP server doing the same lookup over the same CSV " +
        `(needs python3). Target: plain UDP >= ${TARGET_RATIO}x the anchor at each level in flight. ` +
        "Beside them, at the same levels, the runtime ceiling: the same UDP path with the lookup " +
        "called inline on the socket's thread, no handler worker (Deno.listenDatagram and node:dgram).",
    )
    .option("--rows <n>", "rows in the generated CSV", intArg(1, 10_000_000), 100_000)
    .option("--udp-queries <n>", "queries per UDP case (at most)", intArg(1, 100_000_000), 400_000)
    .option("--tcp-queries <n>", "queries per TCP case (at most)", intArg(1, 10_000_000), 5_000)
    .option("--seconds <s>", "time limit per case", intArg(1, 600), 4)
    .option("--in-flight <list>", "queries in flight of the plain UDP cases", levels, [1, 32])
    .option("--concurrency <n>", "queries in flight of the other cases", intArg(1, 1024), 32)
    .option("--workers <n>", "handler workers of the server", intArg(1, 64), 2)
    .addOption(
      new Option("--socket <backend>", "UDP socket of the server (default: deno when available)")
        .choices(["deno", "node"] as const),
    )
    .option("--python <path>", "Python interpreter of the anchor", "python3")
    .option("--no-ceiling", "leave out the runtime ceiling cases (no handler isolation)")
    .option("--json", "print one JSON line with the figures on stdout")
    .action(action(async (opts, command) => {
      const log = loggerFrom(globals(command), { svc: "query-bench" });
      const progress = startProgress("query bench");
      progress.phase(
        `${fmt(opts.rows)}-row CSV: Python anchor and UDP at ${opts.inFlight.join(", ")} in flight${
          opts.ceiling ? " (and the runtime ceiling)" : ""
        }, then encrypted and TCP, up to ${opts.seconds} s per case`,
      );
      const cases = await runQueryBench({
        rows: opts.rows,
        udpQueries: opts.udpQueries,
        tcpQueries: opts.tcpQueries,
        maxMsPerCase: opts.seconds * 1000,
        inFlight: opts.inFlight,
        concurrency: opts.concurrency,
        workers: opts.workers,
        python: opts.python,
        ...(opts.ceiling ? {} : { ceiling: [] }),
        ...(opts.socket ? { backend: opts.socket } : {}),
        logger: log,
      }).finally(() => progress.stop());
      if (opts.json) {
        const rows = cases.filter((c) => !c.anchor).flatMap((c) => {
          const anchor = anchorOf(cases, c);
          const label = `query ${c.name}, ${c.inFlight} in flight`;
          const value = Math.round(c.qps);
          // The ratio of the figures as printed, so that value / anchorValue gives it back.
          const anchorValue = anchor ? Math.round(anchor.qps) : 0;
          return [
            {
              figure: `${label}: queries/s (${fmt(opts.rows)} rows)`,
              value,
              unit: "queries/s",
              ...(anchor
                ? {
                  anchor: "Python socketserver UDP, same lookup",
                  anchorValue,
                  ratio: anchorValue > 0 ? Math.round((value / anchorValue) * 100) / 100 : 0,
                  ...(c.ceiling ? {} : { target: `>= ${TARGET_RATIO}x` }),
                }
                : {}),
            },
            { figure: `${label}: p50`, value: round3(c.p50Ms), unit: "ms" },
            { figure: `${label}: p99`, value: round3(c.p99Ms), unit: "ms" },
          ];
        });
        console.log(JSON.stringify({ service: "query", rows }));
        return;
      }
      const w = Math.max(...cases.map((c) => c.name.length), 4);
      console.log(
        `${"case".padEnd(w)} ${"in flight".padStart(9)} ${"queries".padStart(9)} ${
          "errors".padStart(7)
        } ${"queries/s".padStart(10)} ${"p50 ms".padStart(8)} ${"p99 ms".padStart(8)}`,
      );
      for (const c of cases) {
        console.log(
          `${c.name.padEnd(w)} ${String(c.inFlight).padStart(9)} ${fmt(c.queries).padStart(9)} ${
            fmt(c.errors).padStart(7)
          } ${fmt(c.qps).padStart(10)} ${fmt(c.p50Ms, 3).padStart(8)} ${
            fmt(c.p99Ms, 3).padStart(8)
          }`,
        );
      }
      console.log("");
      for (const { name, over, ceiling, inFlight, ratio } of anchorRatios(cases)) {
        const verdict = ceiling
          ? "no target: the handler inline, not isolated"
          : `target >= ${fmt(TARGET_RATIO, 1)}x: ${ratio >= TARGET_RATIO ? "met" : "not met"}`;
        console.log(`${name} / ${over}, ${inFlight} in flight: ${fmt(ratio, 2)}x (${verdict})`);
      }
      for (const { name, over, inFlight, ratio } of ceilingRatios(cases)) {
        console.log(
          `${name} / ${over}, ${inFlight} in flight: ${
            fmt(ratio, 2)
          }x (the handler in a worker against inline)`,
        );
      }
    }));
}

function round3(n: number): number {
  return Number.isFinite(n) ? Math.round(n * 1000) / 1000 : 0;
}
