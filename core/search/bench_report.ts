/**
 * Renders `search bench` results: text tables sorted by speed, a Markdown
 * report and an SVG chart of time per query against line count (log-log,
 * one panel per mode).
 */
import { type BenchCell, fmtMs, type SearchBenchResult } from "./bench.ts";
import { SERVER_METHODS } from "./bench_methods.ts";

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

/** The fastest method of a mode at the largest size, ignoring methods that answered wrongly. */
export function fastest(result: SearchBenchResult, mode: "reread" | "index"): string | undefined {
  const largest = Math.max(...result.files.map((f) => f.lines));
  return rankedMethods(result, mode).find((m) =>
    (cell(result, mode, m, largest)?.wrong ?? 1) === 0
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
      lines.push(
        `**The server uses \`${server}\`**: the file is read into WebAssembly memory and searched with SIMD (\`simd\`), in a pool worker so the accept loop never waits on a scan. ` +
          `Fastest reread method in this run: \`${best}\`. ` +
          `At ${largest.lines.toLocaleString("en")} lines: in-process scan ${
            inProc ? fmtMs(inProc.p50Ms) : "–"
          }, through the worker ${viaWorker ? fmtMs(viaWorker.p50Ms) : "–"}, \`grep -Fxq\` ${
            grep ? fmtMs(grep.p50Ms) : "–"
          } (target ≤ 3 ms p50).`,
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
 * Line styles a reader can tell apart: eight well-separated colours (the
 * Okabe-Ito set with its yellow, which vanishes on white, replaced by
 * purple), then the same colours dashed. The target line is black and
 * dashed, a style no method gets.
 */
const PALETTE = [
  "#0072B2", // blue
  "#E69F00", // orange
  "#009E73", // green
  "#CC79A7", // pink
  "#56B4E9", // sky blue
  "#7F3C8D", // purple
  "#D55E00", // vermillion
  "#8C6D31", // brown
];
const TARGET_STYLE = { color: "#000000", dash: "8,4" };

/** The line style of the `i`-th method of a panel. */
export function lineStyle(i: number): { color: string; dash: string } {
  return { color: PALETTE[i % PALETTE.length]!, dash: i < PALETTE.length ? "" : "6,3" };
}

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/**
 * An SVG chart: p50 time per query (log) against line count (log), one
 * panel per mode, each with its own legend under it naming only its lines
 * (the server's method marked), fastest first.
 */
export function svgChart(result: SearchBenchResult): string {
  const W = 460, H = 340, M = { l: 70, r: 26, t: 34, b: 44 };
  const sizes = result.files.map((f) => f.lines);
  const all = result.cells.map((c) => c.p50Ms).filter((v) => v > 0 && Number.isFinite(v));
  const yMin = Math.pow(10, Math.floor(Math.log10(Math.min(...all))));
  const yMax = Math.pow(10, Math.ceil(Math.log10(Math.max(...all))));
  const xMin = Math.min(...sizes), xMax = Math.max(...sizes);
  const px = (x: number) =>
    M.l + (xMax === xMin ? 0.5 : (Math.log10(x) - Math.log10(xMin)) /
        (Math.log10(xMax) - Math.log10(xMin))) * (W - M.l - M.r);
  const py = (y: number) =>
    H - M.b - (Math.log10(y) - Math.log10(yMin)) / (Math.log10(yMax) - Math.log10(yMin)) *
      (H - M.t - M.b);
  const parts: string[] = [];
  const legendRow = 18;
  let legendRows = 0;
  MODES.forEach((mode, panel) => {
    const ox = panel * W;
    const methods = rankedMethods(result, mode);
    parts.push(`<g class="panel" data-mode="${mode}" transform="translate(${ox},0)">`);
    parts.push(
      `<text x="${W / 2}" y="20" text-anchor="middle" font-weight="bold">${mode} mode</text>`,
    );
    for (let e = Math.log10(yMin); e <= Math.log10(yMax); e++) {
      const y = py(Math.pow(10, e));
      parts.push(
        `<line x1="${M.l}" y1="${y}" x2="${W - M.r}" y2="${y}" stroke="#ddd"/>`,
        `<text x="${M.l - 6}" y="${y + 4}" text-anchor="end" font-size="11">${
          esc(fmtMs(Math.pow(10, e)))
        }</text>`,
      );
    }
    for (const s of sizes) {
      const x = px(s);
      parts.push(
        `<line x1="${x}" y1="${M.t}" x2="${x}" y2="${H - M.b}" stroke="#eee"/>`,
        `<text x="${x}" y="${H - M.b + 16}" text-anchor="middle" font-size="11">${
          s >= 1e6 ? `${s / 1e6}M` : `${s / 1e3}k`
        }</text>`,
      );
    }
    const midY = (M.t + H - M.b) / 2;
    parts.push(
      `<text x="${(M.l + W - M.r) / 2}" y="${
        H - 8
      }" text-anchor="middle" font-size="12">lines in file (log scale)</text>`,
      `<text class="y-title" x="16" y="${midY}" text-anchor="middle" font-size="12" ` +
        `transform="rotate(-90 16 ${midY})">p50 time per query, log scale (lower is better)</text>`,
    );
    if (mode === "reread" && yMin <= 3 && 3 <= yMax) {
      const y = py(3);
      parts.push(
        `<line class="target" x1="${M.l}" y1="${y}" x2="${
          W - M.r
        }" y2="${y}" stroke="${TARGET_STYLE.color}" ` +
          `stroke-dasharray="${TARGET_STYLE.dash}"/>`,
        `<text x="${M.l + 4}" y="${
          y - 4
        }" font-size="11" fill="${TARGET_STYLE.color}">target 3 ms</text>`,
      );
    }
    methods.forEach((m, i) => {
      const style = lineStyle(i);
      const pts = sizes
        .map((s) =>
          result.cells.find((c: BenchCell) => c.mode === mode && c.method === m && c.lines === s)
        )
        .filter((c): c is BenchCell => c !== undefined && c.p50Ms > 0)
        .map((c) => `${px(c.lines).toFixed(1)},${py(c.p50Ms).toFixed(1)}`);
      if (pts.length === 0) return;
      const width = SERVER_METHODS[mode] === m ? 3.5 : 1.5;
      const dash = style.dash ? ` stroke-dasharray="${style.dash}"` : "";
      parts.push(
        `<polyline fill="none" stroke="${style.color}" stroke-width="${width}"${dash} points="${
          pts.join(" ")
        }"><title>${esc(m)}</title></polyline>`,
      );
      for (const p of pts) {
        const [x, y] = p.split(",");
        parts.push(`<circle cx="${x}" cy="${y}" r="2.5" fill="${style.color}"/>`);
      }
    });
    // This panel's legend, under it: only the lines drawn here.
    parts.push(`<g class="legend">`);
    methods.forEach((m, i) => {
      const style = lineStyle(i);
      const x = 20 + (i % 2) * ((W - 40) / 2), y = H + 6 + Math.floor(i / 2) * legendRow;
      const server = SERVER_METHODS[mode] === m ? " (server)" : "";
      const dash = style.dash ? ` stroke-dasharray="${style.dash}"` : "";
      parts.push(
        `<line x1="${x}" y1="${y + 3}" x2="${x + 22}" y2="${y + 3}" stroke="${style.color}" ` +
          `stroke-width="${server ? 3.5 : 2}"${dash}/>`,
        `<text x="${x + 28}" y="${y + 7}" font-size="12">${esc(m + server)}</text>`,
      );
    });
    parts.push(`</g>`);
    legendRows = Math.max(legendRows, Math.ceil(methods.length / 2));
    parts.push(`</g>`);
  });
  const totalH = H + 6 + legendRows * legendRow + 8;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${
    2 * W
  }" height="${totalH}" viewBox="0 0 ${
    2 * W
  } ${totalH}" font-family="sans-serif">\n<rect width="100%" height="100%" fill="white"/>\n${
    parts.join("\n")
  }\n</svg>\n`;
}
