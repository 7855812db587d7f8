/**
 * `deno task bench --growth`: how cost grows with the work. Drives each
 * service's own `bench --json` at several sizes (search reread p50 per file
 * size with `grep -Fxq` at each, broker messages/s per number of client
 * connectors, servercli RSS per connection per number of clients, ingest
 * objects/s per number of clients) and renders one table and one SVG chart.
 *
 * @module
 */
import { compactNumber, svgLogLogChart } from "../core/search/svg_chart.ts";

/** The sizes measured. */
export interface GrowthPlan {
  /** Search file sizes, lines. Default 10k, 100k, 250k, 1M. */
  searchLines: number[];
  /** Most queries timed per search size. Default 200. */
  searchQueries: number;
  /** Broker client connectors. Default 1, 10, 50. */
  brokerConnectors: number[];
  /** Broker messages per one-way run. Default 100000. */
  brokerMessages: number;
  /** servercli concurrent clients. Default 1k, 5k, 10k. */
  servercliClients: number[];
  /** Ingest clients. Default 1, 10, 100. */
  ingestClients: number[];
  /** Ingest objects per run. Default 100000. */
  ingestObjects: number;
}

/** The default plan: a few minutes on two cores. */
export const DEFAULT_GROWTH_PLAN: GrowthPlan = {
  searchLines: [10_000, 100_000, 250_000, 1_000_000],
  searchQueries: 200,
  brokerConnectors: [1, 10, 50],
  brokerMessages: 100_000,
  servercliClients: [1_000, 5_000, 10_000],
  ingestClients: [1, 10, 100],
  ingestObjects: 100_000,
};

/** One measured point. */
export interface GrowthPoint {
  /** What is measured, e.g. "search reread p50 (as served)". */
  measure: string;
  /** The amount of work (lines, connectors, clients). */
  work: number;
  /** Its unit: "lines", "client connectors", "clients". */
  workUnit: string;
  value: number;
  unit: string;
  /** A reference measured in the same run at the same size (grep for search). */
  anchor?: string;
  anchorValue?: number;
}

/** The outcome of {@linkcode runGrowth}. */
export interface GrowthResult {
  points: GrowthPoint[];
  /** Services whose bench failed or printed no matching figure. */
  problems: string[];
}

/** What a measure should look like as the work grows, for the table. */
const IDEAL: Record<string, string> = {
  "search reread p50 (as served)": "linear: value × = work ×",
  "broker messages/s one way": "flat or rising",
  "servercli RSS per connection": "flat",
  "ingest objects/s stored": "flat or rising",
};

/** A figure of a service's `bench --json` (the fields used here). */
export interface GrowthRow {
  figure: string;
  value: number;
  unit: string;
  anchorValue?: number;
}

/**
 * Runs `sockkit <service> bench --json <args...>` (the bench tool's
 * `runServiceBench`): its rows, or why there are none.
 */
export type GrowthRunner = (
  service: string,
  args: string[],
) => Promise<{ status: "ok"; rows: GrowthRow[] } | { status: string; note: string }>;

/**
 * Runs every service's bench at every size of `plan`, one after another,
 * through `run`. A failed run is a problem in the result, not an exception.
 */
export async function runGrowth(plan: GrowthPlan, run: GrowthRunner): Promise<GrowthResult> {
  const points: GrowthPoint[] = [];
  const problems: string[] = [];
  const bench = async (service: string, args: string[]): Promise<GrowthRow[]> => {
    const res = await run(service, args);
    if (res.status === "ok" && "rows" in res) return res.rows;
    problems.push(`${service} ${args.join(" ")}: ${res.status}: ${"note" in res ? res.note : ""}`);
    return [];
  };
  const pick = (rows: GrowthRow[], re: RegExp, what: string): GrowthRow | undefined => {
    const row = rows.find((r) => re.test(r.figure));
    if (!row && rows.length > 0) problems.push(`${what}: no figure matching ${re}`);
    return row;
  };

  const out = await Deno.makeTempDir({ prefix: "sockkit-growth-" });
  try {
    const rows = await bench("search", [
      "--sizes",
      plan.searchLines.join(","),
      "--methods",
      "simd-worker,grep -Fxq",
      "--queries",
      String(plan.searchQueries),
      "--load-seconds",
      "0",
      "--out",
      out,
    ]);
    for (const lines of plan.searchLines) {
      const label = lines.toLocaleString("en-US");
      const row = pick(rows, new RegExp(`^reread p50, ${label} lines \\(in a worker`), "search");
      if (!row) continue;
      points.push({
        measure: "search reread p50 (as served)",
        work: lines,
        workUnit: "lines",
        value: row.value,
        unit: row.unit,
        ...(row.anchorValue !== undefined
          ? { anchor: "grep -Fxq", anchorValue: row.anchorValue }
          : {}),
      });
    }
  } finally {
    await Deno.remove(out, { recursive: true }).catch(() => {});
  }
  const sweeps = [
    {
      service: "broker",
      measure: "broker messages/s one way",
      workUnit: "client connectors",
      sizes: plan.brokerConnectors,
      args: (n: number) => [
        ...["--connectors", String(n), "--messages", String(plan.brokerMessages)],
        ...["--no-ack", "--nats", ""],
      ],
      figure: /messages\/s one way/,
    },
    {
      service: "servercli",
      measure: "servercli RSS per connection",
      workUnit: "clients",
      sizes: plan.servercliClients,
      args: (n: number) => [
        ...["--clients", String(n), "--rounds", "1"],
        ...["--echo-clients", "1", "--echo-seconds", "1"],
      ],
      figure: /^server RSS per connection$/,
    },
    {
      service: "ingest",
      measure: "ingest objects/s stored",
      workUnit: "clients",
      sizes: plan.ingestClients,
      args: (n: number) => [
        ...["--clients", String(n), "--objects", String(plan.ingestObjects), "--no-anchor"],
      ],
      figure: /^objects\/s stored, \d+ mTLS clients/,
    },
  ];
  for (const sweep of sweeps) {
    for (const n of sweep.sizes) {
      const row = pick(await bench(sweep.service, sweep.args(n)), sweep.figure, sweep.service);
      if (!row) continue;
      points.push({
        measure: sweep.measure,
        work: n,
        workUnit: sweep.workUnit,
        value: row.value,
        unit: row.unit,
      });
    }
  }
  return { points, problems };
}

const num = new Intl.NumberFormat("en-US", { maximumFractionDigits: 3 });

function times(r: number): string {
  return `${r >= 10 ? r.toFixed(0) : r >= 1 ? r.toFixed(2) : r.toPrecision(2)}×`;
}

/**
 * The growth table: per measure and size, the value, how many times the
 * work and the value are those of the smallest size, and the anchor.
 */
export function growthTable(result: GrowthResult): string {
  const header = ["measure", "work", "value", "work ×", "value ×", "anchor", "ideal"];
  const rows: string[][] = [];
  const first = new Map<string, GrowthPoint>();
  for (const p of result.points) {
    const base = first.get(p.measure) ?? (first.set(p.measure, p), p);
    rows.push([
      p.measure,
      `${num.format(p.work)} ${p.work === 1 ? p.workUnit.replace(/s$/, "") : p.workUnit}`,
      `${num.format(p.value)} ${p.unit}`,
      times(p.work / base.work),
      times(p.value / base.value),
      p.anchor && p.anchorValue !== undefined
        ? `${p.anchor} ${num.format(p.anchorValue)} ${p.unit} (${times(p.value / p.anchorValue)})`
        : "",
      base === p ? IDEAL[p.measure] ?? "" : "",
    ]);
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd();
  const out = [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)];
  if (rows.length === 0) out.push("(no growth figures)");
  return [...out, ...result.problems.map((p) => `problem: ${p}`)].join("\n");
}

/** The growth chart: one log-log panel per measure (the search panel with grep beside it). */
export function growthChart(result: GrowthResult): string {
  const measures = [...new Set(result.points.map((p) => p.measure))];
  const panels = measures.map((measure) => {
    const pts = result.points.filter((p) => p.measure === measure);
    const unit = pts[0]!.unit;
    const series = [{
      name: `sockkit (${unit})`,
      bold: true,
      points: pts.map((p): [number, number] => [p.work, p.value]),
    }];
    const anchored = pts.filter((p) => p.anchorValue !== undefined);
    if (anchored.length > 0) {
      series.push({
        name: `${anchored[0]!.anchor} (${unit})`,
        bold: false,
        points: anchored.map((p): [number, number] => [p.work, p.anchorValue!]),
      });
    }
    return {
      title: measure,
      xLabel: `${pts[0]!.workUnit} (log scale)`,
      yLabel: `${unit}, log scale`,
      xTick: compactNumber,
      yTick: (y: number) => num.format(y),
      series,
    };
  });
  return svgLogLogChart(panels, { columns: 2 });
}
