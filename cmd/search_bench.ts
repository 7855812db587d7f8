/**
 * `sockkit search bench` (search methods × sizes × modes, report and chart,
 * plus over-the-wire figures) and `sockkit search load` (queries/s and
 * latency against concurrency).
 */
import { Command } from "@commander-js/extra-typings";
import { join } from "node:path";
import { parse } from "../core/config/mod.ts";
import { loadClientTls } from "../core/pki/mod.ts";
import type { ClientTlsOptions } from "../core/net/mod.ts";
import {
  FLOOR_METHOD,
  fmtMs,
  markdownReport,
  pdfReport,
  runLoadSweep,
  runSearchBench,
  type SearchBenchResult,
  type SearchServer,
  SERVER_METHODS,
  startLoadTarget,
  svgChart,
  textTables,
  type WireBench,
} from "../core/search/mod.ts";
import { action, intArg } from "./_cli.ts";
import { startProgress } from "./_progress.ts";

const sizeList = (v: string) => parse.list(parse.integer(10, 20_000_000))(v);
const levelList = (v: string) => parse.list(parse.integer(1, 10_000))(v);
const num = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });

function cellOf(r: SearchBenchResult, mode: string, method: string, lines: number) {
  return r.cells.find((c) => c.mode === mode && c.method === method && c.lines === lines);
}

/** `search bench`. */
export function searchBenchCommand() {
  return new Command("bench")
    .description(
      "Compare search methods in reread and index mode over generated files; write a Markdown report and SVG chart",
    )
    .option(
      "--sizes <list>",
      "line counts of the generated files (up to 1000000 and beyond)",
      "10000,100000,250000",
    )
    .option("--out <dir>", "where report.md, chart.svg and results.json go", "bench-out/search")
    .option("--pdf <file>", "also write the report (tables, chart, conclusions) as a PDF file")
    .option(
      "--queries <n>",
      "most queries timed per method, mode and size",
      intArg(5, 100_000),
      200,
    )
    .option("--load-seconds <s>", "duration of each over-the-wire load run", intArg(0, 600), 3)
    .option(
      "--methods <list>",
      'only these methods, comma-separated (e.g. "simd,simd-worker,grep -Fxq"; default: all)',
    )
    .option("--json", "print one JSON line of headline figures on stdout (tables go to stderr)")
    .addHelpText(
      "after",
      "\nThe method read-floor searches nothing: it reads each file as the simd scan does, so a reread\n" +
        "figure can be read against what reading the file alone costs here.\n" +
        "\nExamples:\n  sockkit search bench\n  sockkit search bench --sizes 10000,100000,250000,1000000 --out report/\n" +
        '  sockkit search bench --sizes 1000000 --methods "read-floor,simd-worker,grep -Fxq" --load-seconds 0',
    )
    .action(action(async (opts) => {
      const sizes = sizeList(opts.sizes).sort((a, b) => a - b);
      const out = opts.json ? (s: string) => console.error(s) : (s: string) => console.log(s);
      const work = await Deno.makeTempDir({ prefix: "sockkit-search-bench-" });
      const progress = startProgress("search bench");
      try {
        const { result, wire } = await runSearchBench({
          sizes,
          dir: work,
          maxQueries: opts.queries,
          loadSeconds: opts.loadSeconds,
          onProgress: (l) => progress.phase(l),
          ...(opts.methods !== undefined ? { methods: methodList(opts.methods) } : {}),
        });
        const largest = sizes.at(-1)!;
        const tlsLoad = wire?.tlsLoad;
        const wireReread = wire?.wireReread;
        const busyReread = wire?.busyReread ?? [];
        const notes = wire ? wireNotes(wire) : [];
        progress.stop();
        await Deno.mkdir(opts.out, { recursive: true });
        await Deno.writeTextFile(join(opts.out, "chart.svg"), svgChart(result));
        await Deno.writeTextFile(
          join(opts.out, "report.md"),
          markdownReport(result, "chart.svg", { notes }),
        );
        if (opts.pdf !== undefined) {
          const pdf = await pdfReport(result, { notes });
          try {
            await Deno.writeFile(opts.pdf, pdf);
          } catch (err) {
            throw new Error(`Cannot write the PDF report "${opts.pdf}": ${(err as Error).message}`);
          }
        }
        await Deno.writeTextFile(
          join(opts.out, "results.json"),
          JSON.stringify({ ...result, load: { tlsLoad, wireReread, busyReread } }, null, 2) + "\n",
        );
        out("");
        out(textTables(result));
        for (const n of notes) out(n);
        out(`report: ${join(opts.out, "report.md")}  chart: ${join(opts.out, "chart.svg")}`);
        if (opts.pdf !== undefined) out(`pdf: ${opts.pdf}`);
        const wrong = result.cells.filter((c) => c.wrong > 0);
        for (const c of wrong) {
          out(
            `warning: ${c.method} (${c.mode}, ${c.lines} lines) answered ${c.wrong} queries wrongly`,
          );
        }
        if (opts.json) {
          const grep = cellOf(result, "reread", "grep -Fxq", largest);
          const label = `${num.format(largest)} lines`;
          const rows: Array<Record<string, unknown>> = [];
          const rereadRow = (method: string, what: string, lines: number) => {
            const c = cellOf(result, "reread", method, lines);
            const g = cellOf(result, "reread", "grep -Fxq", lines);
            if (!c) return;
            rows.push({
              figure: `reread p50, ${num.format(lines)} lines (${what})`,
              value: round(c.p50Ms, 3),
              unit: "ms",
              ...(g ? { anchor: "grep -Fxq per query", anchorValue: round(g.p50Ms, 3) } : {}),
              target: lines >= 1_000_000 ? "<= 1 ms" : "<= 3 ms",
            });
          };
          rereadRow("simd", "in-process scan", largest);
          rereadRow("simd-whole", "earlier whole-file read, in-process", largest);
          for (const lines of sizes) {
            rereadRow(SERVER_METHODS.reread, "in a worker, as served", lines);
            const floor = cellOf(result, "reread", FLOOR_METHOD, lines);
            if (floor) {
              rows.push({
                figure: `reread floor p50, ${
                  num.format(lines)
                } lines (the file read alone, no search, one thread)`,
                value: round(floor.p50Ms, 3),
                unit: "ms",
              });
            }
          }
          const idx = cellOf(result, "index", SERVER_METHODS.index, largest);
          if (idx) {
            rows.push({
              figure: `index lookup p50, ${label}`,
              value: round(idx.p50Ms * 1000, 2),
              unit: "µs",
              anchor: "task limit 0.5 ms",
              anchorValue: 500,
            });
          }
          if (tlsLoad) {
            rows.push({
              figure: "cached queries/s, TLS, 32 connections",
              value: Math.round(tlsLoad.qps),
              unit: "queries/s",
              anchor: "task limit 0.5 ms/query",
              anchorValue: 2000,
              target: ">= 30000",
            });
          }
          if (wireReread) {
            rows.push({
              figure: `reread p50 over TCP, ${label}`,
              value: round(wireReread.p50Ms, 3),
              unit: "ms",
              ...(grep ? { anchor: "grep -Fxq per query", anchorValue: round(grep.p50Ms, 3) } : {}),
              target: "<= 40 ms (task limit)",
            });
          }
          const one = busyReread.find((b) => b.workers === 1);
          for (const b of busyReread) {
            if (b.workers === 1 && busyReread.length > 1) continue;
            rows.push({
              figure: `reread queries/s over TCP, 32 connections, ${b.workers} worker(s), ${label}`,
              value: Math.round(b.load.qps),
              unit: "queries/s",
              ...(one && b !== one
                ? { anchor: "same with 1 worker", anchorValue: Math.round(one.load.qps) }
                : {}),
              target: `scales with the cores (${navigator.hardwareConcurrency} here)`,
            });
          }
          console.log(JSON.stringify({ service: "search", rows }));
        }
      } finally {
        progress.stop();
        await Deno.remove(work, { recursive: true }).catch(() => {});
      }
    }));
}

/** `--methods`: names separated by commas (a name may hold spaces, like "grep -Fxq"). */
function methodList(v: string): string[] {
  const names = v.split(",").map((n) => n.trim()).filter((n) => n !== "");
  if (names.length === 0) throw new RangeError(`Invalid --methods "${v}": expected method names`);
  return names;
}

/** The over-the-wire figures as the report's notes, one line each. */
function wireNotes(wire: WireBench): string[] {
  const { tlsLoad, wireReread, busyReread } = wire;
  return [
    `index mode, TLS, 32 connections, one query in flight each: ${
      num.format(tlsLoad.qps)
    } queries/s, p50 ${fmtMs(tlsLoad.p50Ms)}, p99 ${fmtMs(tlsLoad.p99Ms)}`,
    `reread mode, plain TCP, 1 connection: p50 ${fmtMs(wireReread.p50Ms)}, p99 ${
      fmtMs(wireReread.p99Ms)
    } per query (${num.format(wireReread.qps)} queries/s)`,
    ...busyReread.map(({ workers, load }) =>
      `reread mode, plain TCP, 32 connections, ${workers} worker(s): ${
        num.format(load.qps)
      } queries/s, p50 ${fmtMs(load.p50Ms)}, p99 ${fmtMs(load.p99Ms)}`
    ),
  ];
}

function round(v: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

/** `search load`. */
export function searchLoadCommand() {
  return new Command("load")
    .description(
      "Queries/s and p50/p99 latency against concurrency, until errors or timeouts appear",
    )
    .option("--concurrency <list>", "connection counts to try in turn", "1,8,32,128,512")
    .option("--duration <s>", "seconds per level", intArg(1, 600), 3)
    .option("--host <host>", "server to load (default: start one in-process on loopback)")
    .option("--port <port>", "its port", intArg(1, 65535))
    .option("--tls", "use TLS (an in-process server gets a throwaway certificate)")
    .option("--ca <file>", "CA certificate of an external server (with --tls)")
    .option("--file <path>", "in-process server: file to serve (default: generated)")
    .option("--lines <n>", "generated file size", intArg(10, 20_000_000), 250_000)
    .option("--reread-on-query", "in-process server: reread mode")
    .option("--pipeline <n>", "queries in flight per connection", intArg(1, 1024), 1)
    .option("--timeout <ms>", "an answer slower than this is a timeout", intArg(1, 600_000), 2000)
    .option("--workers <n>", "load worker threads", intArg(1, 64), 1)
    .option("--query <q...>", "queries to send (default: half present, half absent lines)")
    .addHelpText(
      "after",
      "\nExamples:\n  sockkit search load --tls --concurrency 1,8,32 --duration 3\n  sockkit search load --host 10.0.0.5 --port 44445 --query apple",
    )
    .action(action(async (opts) => {
      const levels = levelList(opts.concurrency);
      const work = await Deno.makeTempDir({ prefix: "sockkit-search-load-" });
      try {
        let queries = opts.query ?? [];
        let port = opts.port;
        let clientTls: ClientTlsOptions | undefined;
        let server: SearchServer | undefined;
        if (opts.host === undefined && port === undefined) {
          const target = await startLoadTarget({
            dir: work,
            lines: opts.lines,
            tls: opts.tls === true,
            rereadOnQuery: opts.rereadOnQuery === true,
            ...(opts.file ? { file: opts.file } : {}),
          });
          server = target.server;
          clientTls = target.clientTls;
          if (queries.length === 0) queries = target.queries;
          port = server.port;
          console.log(
            `search load: in-process ${server.mode}-mode server on 127.0.0.1:${port} (${
              clientTls ? "TLS" : "plain TCP"
            }), file ${target.file}`,
          );
        } else if (opts.tls) {
          clientTls = await loadClientTls(opts.ca ? { ca: opts.ca } : {});
        }
        if (port === undefined) throw new Error("--host needs --port");
        if (queries.length === 0) queries = ["sockkit-load-probe"];
        try {
          console.log(
            `${"connections".padStart(11)} ${"queries/s".padStart(10)} ${"p50".padStart(10)} ${
              "p99".padStart(10)
            } ${"errors".padStart(7)} ${"timeouts".padStart(8)}`,
          );
          const results = await runLoadSweep(levels, {
            host: opts.host ?? "127.0.0.1",
            port,
            durationMs: opts.duration * 1000,
            queries,
            pipeline: opts.pipeline,
            timeoutMs: opts.timeout,
            workers: opts.workers,
            ...(clientTls ? { tls: clientTls } : {}),
          }, (r) =>
            console.log(
              `${String(r.concurrency).padStart(11)} ${num.format(r.qps).padStart(10)} ${
                fmtMs(r.p50Ms).padStart(10)
              } ${fmtMs(r.p99Ms).padStart(10)} ${String(r.errors).padStart(7)} ${
                String(r.timeouts).padStart(8)
              }${r.firstError ? `  (${r.firstError})` : ""}`,
            ));
          const first = results[0];
          if (first !== undefined && first.answered === 0) {
            throw new Error(
              `No query was answered at ${first.concurrency} connection(s) to ${
                opts.host ?? "127.0.0.1"
              }:${port}: ${first.firstError ?? "no answer"}`,
            );
          }
          const last = results.at(-1);
          if (last && (last.errors > 0 || last.timeouts > 0)) {
            console.log(`failure point: ${last.concurrency} connections`);
          } else {
            console.log("no errors or timeouts at any level");
          }
        } finally {
          await server?.close();
        }
      } finally {
        await Deno.remove(work, { recursive: true }).catch(() => {});
      }
    }));
}
