/**
 * `sockkit query bench`: queries/s and p50/p99 over UDP and TCP, plain and
 * encrypted, against a generated CSV (100k rows by default), with a bare
 * UDP echo server as the anchor measured in the same run.
 */
import { Command } from "@commander-js/extra-typings";
import { runQueryBench } from "../core/query/bench.ts";
import { action, globals, intArg, loggerFrom } from "./_cli.ts";
import { startProgress } from "./_progress.ts";

const TARGET_UDP_QPS = 20_000;

const fmt = (n: number, digits = 0) =>
  Number.isFinite(n)
    ? n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits })
    : "-";

/** Builds the `query bench` command. */
export function queryBenchCommand() {
  return new Command("bench")
    .summary("queries/s and p50/p99 over UDP and TCP, plain and encrypted")
    .description(
      "Measure queries/s and p50/p99 latency over UDP and TCP, plain and encrypted, against a " +
        `generated CSV on loopback. Target: >= ${fmt(TARGET_UDP_QPS)} UDP queries/s (cached data).`,
    )
    .option("--rows <n>", "rows in the generated CSV", intArg(1, 10_000_000), 100_000)
    .option("--udp-queries <n>", "queries per UDP case (at most)", intArg(1, 10_000_000), 40_000)
    .option("--tcp-queries <n>", "queries per TCP case (at most)", intArg(1, 10_000_000), 5_000)
    .option("--seconds <s>", "time limit per case", intArg(1, 600), 4)
    .option("--concurrency <n>", "queries in flight at once", intArg(1, 1024), 64)
    .option("--workers <n>", "handler workers of the server", intArg(1, 64), 2)
    .option("--json", "print one JSON line with the figures on stdout")
    .action(action(async (opts, command) => {
      const log = loggerFrom(globals(command), { svc: "query-bench" });
      const progress = startProgress("query bench");
      progress.phase(
        `${
          fmt(opts.rows)
        }-row CSV: UDP and TCP, plain and encrypted, up to ${opts.seconds} s per case`,
      );
      const cases = await runQueryBench({
        rows: opts.rows,
        udpQueries: opts.udpQueries,
        tcpQueries: opts.tcpQueries,
        maxMsPerCase: opts.seconds * 1000,
        concurrency: opts.concurrency,
        workers: opts.workers,
        logger: log,
      }).finally(() => progress.stop());
      const anchor = cases.find((c) => c.name.includes("anchor"));
      if (opts.json) {
        const rows = cases.filter((c) => c !== anchor).flatMap((c) => {
          const isTarget = c.name === "udp plain";
          return [
            {
              figure: `query ${c.name}: queries/s (${fmt(opts.rows)} rows)`,
              value: Math.round(c.qps),
              unit: "queries/s",
              ...(c.transport === "udp" && anchor
                ? { anchor: "bare node:dgram UDP echo", anchorValue: Math.round(anchor.qps) }
                : {}),
              ...(isTarget ? { target: `>= ${TARGET_UDP_QPS}` } : {}),
            },
            { figure: `query ${c.name}: p50`, value: round3(c.p50Ms), unit: "ms" },
            { figure: `query ${c.name}: p99`, value: round3(c.p99Ms), unit: "ms" },
          ];
        });
        console.log(JSON.stringify({ service: "query", rows }));
        return;
      }
      console.log(
        `${"case".padEnd(20)} ${"queries".padStart(8)} ${"errors".padStart(7)} ${
          "queries/s".padStart(10)
        } ${"p50 ms".padStart(8)} ${"p99 ms".padStart(8)}`,
      );
      for (const c of cases) {
        console.log(
          `${c.name.padEnd(20)} ${fmt(c.queries).padStart(8)} ${fmt(c.errors).padStart(7)} ${
            fmt(c.qps).padStart(10)
          } ${fmt(c.p50Ms, 3).padStart(8)} ${fmt(c.p99Ms, 3).padStart(8)}`,
        );
      }
      const udp = cases.find((c) => c.name === "udp plain");
      if (udp) {
        console.log(
          `\nTarget >= ${fmt(TARGET_UDP_QPS)} UDP queries/s: ${fmt(udp.qps)} (${
            udp.qps >= TARGET_UDP_QPS ? "met" : "not met"
          })${anchor ? `; anchor (bare UDP echo) ${fmt(anchor.qps)}/s` : ""}`,
        );
      }
    }));
}

function round3(n: number): number {
  return Number.isFinite(n) ? Math.round(n * 1000) / 1000 : 0;
}
