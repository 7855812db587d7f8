/**
 * Renders `search bench` results: text tables sorted by speed, a Markdown
 * report and an SVG chart of time per query against line count (log-log,
 * one panel per mode).
 */
import { fmtMs, type SearchBenchResult } from "./mod.ts";
import { FLOOR_METHOD, SERVER_METHODS } from "./bench_methods.ts";
import { type ChartPanel, svgLogLogChart } from "../svg_chart.ts";

export { lineStyle } from "../svg_chart.ts";

/** Extra figures for the report (the over-the-wire load, when measured). */
export interface ReportExtras {
  /** Lines such as "cached queries/s over TLS, 32 connections: 41,000/s". */
  notes?: string[];
  /** When the run happened. Default now. */
  date?: Date;
}

const MODES = ["reread", "index"] as const;

/** Cells of one mode, one row per method, sorted by p50 at the largest size (fastest first). */
export function rankedMethods(result: SearchBenchResult, mode: "reread" | "index"): string[] {
  const largest = Math.max(...result.files.map((f) => f.lines));
  const at = (m: string) =>
    result.cells.find((c) => c.mode === mode && c.method === m && c.lines === largest)?.p50Ms ??
      Infinity;
  const names = [...new Set(result.cells.filter((c) => c.mode === mode).map((c) => c.method))];
  return names.sort((a, b) => at(a) - at(b));
}

function cell(result: SearchBenchResult, mode: string, method: string, lines: number) {
  return result.cells.find((c) => c.mode === mode && c.method === method && c.lines === lines);
}

/**
 * The fastest method of a mode at the largest size, ignoring methods that
 * answered wrongly and floors (which do not search).
 */
export function fastest(result: SearchBenchResult, mode: "reread" | "index"): string | undefined {
  const largest = Math.max(...result.files.map((f) => f.lines));
  const floors = new Set(result.methods.filter((m) => m.floor).map((m) => m.name));
  return rankedMethods(result, mode).find((m) =>
    !floors.has(m) && (cell(result, mode, m, largest)?.wrong ?? 1) === 0
  );
}

function pad(s: string, n: number, right = false): string {
  return right ? s.padStart(n) : s.padEnd(n);
}

/** A plain-text table per mode: methods sorted by speed, p50 per size. */
export function textTables(result: SearchBenchResult): string {
  const sizes = result.files.map((f) => f.lines);
  const out: string[] = [];
  for (const mode of MODES) {
    out.push(`${mode} mode: p50 per query (fastest first at ${sizes.at(-1)} lines)`);
    out.push(pad("method", 20) + sizes.map((s) => pad(`${s} lines`, 14, true)).join(""));
    for (const m of rankedMethods(result, mode)) {
      const server = SERVER_METHODS[mode] === m ? " (server)" : "";
      const row = sizes.map((s) => {
        const c = cell(result, mode, m, s);
        return pad(c ? fmtMs(c.p50Ms) + (c.wrong ? "!" : "") : "-", 14, true);
      });
      out.push(pad(m, 20) + row.join("") + server);
    }
    out.push("");
  }
  return out.join("\n");
}

function mdTable(result: SearchBenchResult, mode: "reread" | "index"): string {
  const sizes = result.files.map((f) => f.lines);
  const big = sizes.at(-1)!.toLocaleString("en");
  const prep = mode === "index" ? ` prepare @ ${big} |` : "";
  const head = `| method | ${
    sizes.map((s) => `p50 @ ${s.toLocaleString("en")}`).join(" | ")
  } | p99 @ ${big} |${prep}`;
  const rule = `|---|${sizes.map(() => "---:").join("|")}|---:|${mode === "index" ? "---:|" : ""}`;
  const rows = rankedMethods(result, mode).map((m) => {
    const name = SERVER_METHODS[mode] === m ? `**${m}** (server)` : m;
    const cols = sizes.map((s) => {
      const c = cell(result, mode, m, s);
      return c ? fmtMs(c.p50Ms) + (c.wrong ? ` (${c.wrong} wrong)` : "") : "–";
    });
    const last = cell(result, mode, m, sizes.at(-1)!);
    const prepCol = mode === "index"
      ? ` ${last?.prepareMs !== undefined ? fmtMs(last.prepareMs) : "–"} |`
      : "";
    return `| ${name} | ${cols.join(" | ")} | ${last ? fmtMs(last.p99Ms) : "–"} |${prepCol}`;
  });
  return [head, rule, ...rows].join("\n");
}

/** The Markdown report: what was measured, tables, chart, which method the server uses and why. */
export function markdownReport(
  result: SearchBenchResult,
  chartFile: string,
  extras: ReportExtras = {},
): string {
  const date = (extras.date ?? new Date()).toISOString();
  const largest = result.files.at(-1)!;
  const lines: string[] = [
    `# sockkit search: benchmark of search methods`,
    "",
    `Run ${date} on ${Deno.build.os}/${Deno.build.arch}, ${navigator.hardwareConcurrency} CPUs, Deno ${Deno.version.deno}.`,
    `Files: ${
      result.files.map((f) => `${f.lines.toLocaleString("en")} lines (${f.bytes} bytes)`).join(", ")
    }; queries alternate present and absent lines; every answer is checked against a reference index.`,
    "",
    "- **reread** mode: each query reads the file again and searches it (`reread_on_query=True`).",
    "- **index** mode: a structure is prepared once; each query only searches it.",
    "",
    `![time per query against line count](${chartFile})`,
    "",
  ];
  for (const mode of MODES) {
    const best = fastest(result, mode);
    const server = SERVER_METHODS[mode];
    lines.push(
      `## ${mode} mode (sorted by p50 at ${largest.lines.toLocaleString("en")} lines)`,
      "",
    );
    lines.push(mdTable(result, mode), "");
    if (mode === "reread") {
      const inProc = cell(result, "reread", "simd", largest.lines);
      const viaWorker = cell(result, "reread", server, largest.lines);
      const grep = cell(result, "reread", "grep -Fxq", largest.lines);
      const floor = cell(result, "reread", FLOOR_METHOD, largest.lines);
      lines.push(
        `**The server uses \`${server}\`**: the file is read into WebAssembly memory and searched with SIMD (\`simd\`), in a pool worker so the accept loop never waits on a scan. ` +
          `Fastest reread method in this run: \`${best}\`. ` +
          `At ${largest.lines.toLocaleString("en")} lines: in-process scan ${
            inProc ? fmtMs(inProc.p50Ms) : "–"
          }, through the worker ${viaWorker ? fmtMs(viaWorker.p50Ms) : "–"}, \`grep -Fxq\` ${
            grep ? fmtMs(grep.p50Ms) : "–"
          } (target ≤ 3 ms p50)` +
          (floor
            ? `; reading the file alone, with no search (\`${FLOOR_METHOD}\`, one thread), took ${
              fmtMs(floor.p50Ms)
            }.`
            : "."),
        "",
      );
    } else {
      const main = cell(result, "index", server, largest.lines);
      const worker = cell(result, "index", "byte-table-worker", largest.lines);
      lines.push(
        `**The server uses \`${server}\`**: built in a worker, its typed arrays are transferred to the main thread without copying and looked up there. ` +
          `Fastest index method in this run: \`${best}\`. ` +
          `A lookup on the main thread took ${main ? fmtMs(main.p50Ms) : "–"} against ${
            worker ? fmtMs(worker.p50Ms) : "–"
          } through a worker round trip, so index lookups stay on the main thread.`,
        "",
      );
    }
  }
  lines.push("## Methods", "");
  for (const m of result.methods) lines.push(`- \`${m.name}\`: ${m.description}`);
  if (extras.notes?.length) {
    lines.push("", "## Over the wire", "");
    for (const n of extras.notes) lines.push(`- ${n}`);
  }
  lines.push("");
  return lines.join("\n");
}

/**
 * An SVG chart: p50 time per query (log) against line count (log), one
 * panel per mode, each with its own legend under it naming only its lines
 * (the server's method marked), fastest first.
 */
export function svgChart(result: SearchBenchResult): string {
  const sizes = result.files.map((f) => f.lines);
  const panels: ChartPanel[] = MODES.map((mode) => ({
    title: `${mode} mode`,
    attrs: { "data-mode": mode },
    xLabel: "lines in file (log scale)",
    yLabel: "p50 time per query, log scale (lower is better)",
    yTick: fmtMs,
    ...(mode === "reread" ? { target: { y: 3, label: "target 3 ms" } } : {}),
    series: rankedMethods(result, mode).map((m) => ({
      name: m + (SERVER_METHODS[mode] === m ? " (server)" : ""),
      bold: SERVER_METHODS[mode] === m,
      points: sizes.flatMap((s): Array<[number, number]> => {
        const c = cell(result, mode, m, s);
        return c ? [[s, c.p50Ms]] : [];
      }),
    })),
  }));
  return svgLogLogChart(panels, { sharedY: true });
}
