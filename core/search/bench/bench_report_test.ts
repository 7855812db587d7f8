import assert from "node:assert/strict";
import type { BenchCell, SearchBenchResult } from "./mod.ts";
import { SERVER_METHODS } from "./bench_methods.ts";
import {
  fastest,
  lineStyle,
  markdownReport,
  rankedMethods,
  svgChart,
  textTables,
} from "./bench_report.ts";

function cell(
  method: string,
  mode: "reread" | "index",
  lines: number,
  p50Ms: number,
  wrong = 0,
): BenchCell {
  return { method, mode, lines, p50Ms, p99Ms: p50Ms * 2, meanMs: p50Ms, queries: 10, wrong };
}

const result: SearchBenchResult = {
  files: [{ lines: 1000, bytes: 10_000 }, { lines: 10_000, bytes: 100_000 }],
  methods: [
    { name: SERVER_METHODS.reread, description: "server reread" },
    { name: "grep -Fxq", description: "anchor" },
    { name: "byte-table", description: "server index" },
    { name: "broken", description: "answers wrongly" },
  ],
  cells: [
    cell("grep -Fxq", "reread", 1000, 1),
    cell("grep -Fxq", "reread", 10_000, 2),
    cell(SERVER_METHODS.reread, "reread", 1000, 0.1),
    cell(SERVER_METHODS.reread, "reread", 10_000, 0.5),
    cell("broken", "reread", 10_000, 0.01, 3),
    cell("byte-table", "index", 1000, 0.001),
    cell("byte-table", "index", 10_000, 0.001),
  ],
};

Deno.test("rankedMethods() sorts by p50 at the largest size and fastest() skips wrong answers", () => {
  assert.deepEqual(rankedMethods(result, "reread"), ["broken", SERVER_METHODS.reread, "grep -Fxq"]);
  assert.equal(fastest(result, "reread"), SERVER_METHODS.reread);
  assert.equal(fastest(result, "index"), "byte-table");
});

Deno.test("the report names the server's methods and links the chart; the chart is SVG with every method", () => {
  const md = markdownReport(result, "chart.svg", { notes: ["32 connections: 1 queries/s"] });
  assert.match(md, /!\[time per query against line count\]\(chart\.svg\)/);
  assert.match(md, /\*\*The server uses `simd-worker`\*\*/);
  assert.match(md, /\*\*The server uses `byte-table`\*\*/);
  assert.match(md, /32 connections: 1 queries\/s/);
  assert.match(md, /\(3 wrong\)/);
  assert.match(md, /\| prepare @ 10,000 \|/);
  const svg = svgChart(result);
  assert.match(svg, /target 3 ms/);
  assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  for (const m of [SERVER_METHODS.reread, "grep -Fxq", "byte-table", "broken"]) {
    assert.ok(svg.includes(m), m);
  }
  assert.equal((svg.match(/<polyline/g) ?? []).length, 4);
  assert.match(textTables(result), /simd-worker .* \(server\)/);
});

Deno.test("svgChart() gives each panel its own legend, distinct line styles and axis titles saying lower is better", () => {
  const svg = svgChart(result);
  const panels = svg.split('<g class="panel"').slice(1);
  assert.equal(panels.length, 2);
  const [reread, index] = panels as [string, string];
  const legend = (p: string) => p.slice(p.indexOf('<g class="legend">'));
  assert.match(legend(index), /byte-table \(server\)/);
  assert.doesNotMatch(legend(reread), /byte-table/);
  assert.match(legend(reread), /simd-worker \(server\)/);
  assert.doesNotMatch(legend(index), /simd-worker|grep/);
  for (const p of panels) {
    const styles = [
      ...p.matchAll(
        /<polyline fill="none" stroke="([^"]+)" stroke-width="[^"]+"(?: stroke-dasharray="([^"]+)")?/g,
      ),
    ]
      .map((m) => `${m[1]} ${m[2] ?? ""}`);
    assert.equal(new Set(styles).size, styles.length, `repeated line style: ${styles}`);
    assert.match(p, /lower is better/);
  }
  const target = /<line class="target"[^>]* stroke="([^"]+)"/.exec(reread)![1]!;
  assert.ok(!reread.includes(`<polyline fill="none" stroke="${target}"`), "target colour reused");
});

Deno.test("lineStyle() never repeats a style within the first sixteen lines", () => {
  const seen = new Set(Array.from({ length: 16 }, (_, i) => JSON.stringify(lineStyle(i))));
  assert.equal(seen.size, 16);
});

Deno.test("a floor is never the fastest method, and the report gives its time beside the server's", () => {
  const withFloor: SearchBenchResult = {
    ...result,
    methods: [...result.methods, { name: "read-floor", description: "no search", floor: true }],
    cells: [...result.cells, cell("read-floor", "reread", 10_000, 0.05)],
  };
  assert.equal(rankedMethods(withFloor, "reread")[1], "read-floor");
  assert.equal(fastest(withFloor, "reread"), SERVER_METHODS.reread);
  const md = markdownReport(withFloor, "chart.svg");
  assert.match(
    md,
    /reading the file alone, with no search \(`read-floor`, one thread\), took 50\.0 µs/,
  );
  assert.match(md, /Fastest reread method in this run: `simd-worker`/);
});
