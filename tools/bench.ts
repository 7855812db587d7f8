/**
 * `deno task bench [SERVICE...]`: runs `./sockkit <svc> bench --json` for
 * every service that has one (ingest, servercli, broker, search, query, or
 * the ones named), streams each bench's progress (its stderr) through, and
 * prints one combined table with each figure's ratio to its anchor measured
 * in the same run, between machine rows (`bench_machine.ts`: the load
 * average before and after, and how long waking a thread takes here).
 * `--json` prints the combined results as one JSON line.
 * `--growth` measures how cost grows with the work instead (see
 * `bench_growth.ts`; size flags such as `--search-lines 10000,100000`).
 *
 * @module
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  DEFAULT_GROWTH_PLAN,
  growthChart,
  type GrowthPlan,
  growthTable,
  runGrowth,
} from "./bench_growth.ts";
import { loadRow, machineBefore } from "./bench_machine.ts";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const LAUNCHER = join(ROOT, "sockkit");

/** The services with benchmarks, in the order they run. */
export const BENCH_SERVICES = ["ingest", "servercli", "broker", "search", "query"] as const;

/** One row of a service's `bench --json` output. */
export interface BenchRow {
  figure: string;
  value: number;
  unit: string;
  anchor?: string;
  anchorValue?: number;
  target?: string;
}

/** The outcome of one service's bench. */
export type BenchResult =
  | { service: string; status: "ok"; rows: BenchRow[] }
  | { service: string; status: "skipped" | "failed"; note: string };

/**
 * Parses a bench's stdout: the last non-empty line must be
 * `{"service":...,"rows":[...]}`. Throws `SyntaxError` naming the service otherwise.
 */
export function parseBenchOutput(service: string, stdout: string): BenchRow[] {
  const last = stdout.trimEnd().split("\n").at(-1)?.trim() ?? "";
  let data: unknown;
  try {
    data = JSON.parse(last);
  } catch {
    throw new SyntaxError(
      `Invalid output from "sockkit ${service} bench --json": expected one JSON line last, got "${
        last.slice(0, 80)
      }"`,
    );
  }
  const d = data as { service?: unknown; rows?: unknown };
  if (!Array.isArray(d.rows)) {
    throw new SyntaxError(
      `Invalid output from "sockkit ${service} bench --json": expected a "rows" array`,
    );
  }
  return d.rows.map((r: Record<string, unknown>, i) => {
    if (typeof r.figure !== "string" || typeof r.value !== "number" || typeof r.unit !== "string") {
      throw new SyntaxError(
        `Invalid output from "sockkit ${service} bench --json": row ${i} needs figure (string), value (number) and unit (string)`,
      );
    }
    const row: BenchRow = { figure: r.figure, value: r.value, unit: r.unit };
    if (typeof r.anchor === "string") row.anchor = r.anchor;
    if (typeof r.anchorValue === "number") row.anchorValue = r.anchorValue;
    if (typeof r.target === "string") row.target = r.target;
    return row;
  });
}

const num = new Intl.NumberFormat("en-US", { maximumFractionDigits: 2 });

/** Formats `value / anchorValue`, or "" when there is no anchor. */
export function ratio(row: BenchRow): string {
  if (row.anchorValue === undefined || row.anchorValue === 0) return "";
  const r = row.value / row.anchorValue;
  return `${r >= 10 ? r.toFixed(0) : r >= 1 ? r.toFixed(2) : r.toPrecision(2)}×`;
}

/** Renders the combined table (plain text, aligned columns). */
export function formatTable(results: BenchResult[]): string {
  const header = ["service", "figure", "value", "anchor", "anchor value", "ratio", "target"];
  const rows: string[][] = [];
  const notes: string[] = [];
  for (const res of results) {
    if (res.status !== "ok") {
      notes.push(`${res.service}: ${res.status}: ${res.note}`);
      continue;
    }
    for (const r of res.rows) {
      rows.push([
        res.service,
        r.figure,
        `${num.format(r.value)} ${r.unit}`,
        r.anchor ?? "",
        r.anchorValue === undefined ? "" : `${num.format(r.anchorValue)} ${r.unit}`,
        ratio(r),
        r.target ?? "",
      ]);
    }
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd();
  const out = [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)];
  if (rows.length === 0) out.push("(no benchmark results)");
  return [...out, ...notes].join("\n");
}

/** Lists the subcommands `sockkit --help` shows. */
export async function availableCommands(): Promise<Set<string>> {
  const out = await new Deno.Command(LAUNCHER, {
    args: ["--help"],
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).output();
  const help = new TextDecoder().decode(out.stdout);
  const section = help.split(/^Commands:$/m)[1] ?? "";
  return new Set([...section.matchAll(/^ {2}([a-z][\w-]*)/gm)].map((m) => m[1]!));
}

/** Options for {@linkcode runServiceBench}. */
export interface RunServiceBenchOptions {
  /** Extra arguments after `bench --json`. */
  args?: string[];
  /** Copy the bench's stderr (its progress) to ours. Default true. */
  echoStderr?: boolean;
  /** The program (and leading arguments) to run instead of `./sockkit`; for tests. */
  launcher?: [string, ...string[]];
}

/** Runs one service's bench, streaming its stderr through to ours. */
export async function runServiceBench(
  service: string,
  options: RunServiceBenchOptions = {},
): Promise<BenchResult> {
  const [program, ...pre] = options.launcher ?? [LAUNCHER];
  const child = new Deno.Command(program, {
    args: [...pre, service, "bench", "--json", ...(options.args ?? [])],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const echo = options.echoStderr ?? true;
  let stdout = "";
  let stderr = "";
  const collectStdout = (async () => {
    const dec = new TextDecoder();
    for await (const chunk of child.stdout) stdout += dec.decode(chunk, { stream: true });
  })();
  const collectStderr = (async () => {
    const dec = new TextDecoder();
    for await (const chunk of child.stderr) {
      stderr += dec.decode(chunk, { stream: true });
      if (echo) await Deno.stderr.write(chunk);
    }
  })();
  const [status] = await Promise.all([child.status, collectStdout, collectStderr]);
  const firstErr = stderr.trim().split("\n")[0] ?? "";
  if (status.code === 2 && /unknown (command|option)|too many arguments/.test(stderr)) {
    return {
      service,
      status: "skipped",
      note: `no "sockkit ${service} bench --json" (${firstErr})`,
    };
  }
  if (!status.success) {
    return { service, status: "failed", note: `exit code ${status.code}: ${firstErr}` };
  }
  try {
    return { service, status: "ok", rows: parseBenchOutput(service, stdout) };
  } catch (err) {
    return { service, status: "failed", note: (err as Error).message };
  }
}

/** `--growth`: parses the size flags, runs the plan, prints the table, writes the chart. */
async function growthMain(args: string[]): Promise<number> {
  const plan: GrowthPlan = { ...DEFAULT_GROWTH_PLAN };
  let out = "bench-out/growth";
  const lists = {
    "--search-lines": "searchLines",
    "--broker-connectors": "brokerConnectors",
    "--servercli-clients": "servercliClients",
    "--ingest-clients": "ingestClients",
  } as const;
  const counts = {
    "--search-queries": "searchQueries",
    "--broker-messages": "brokerMessages",
    "--ingest-objects": "ingestObjects",
  } as const;
  for (let i = 0; i < args.length; i++) {
    const flag = args[i]!;
    if (flag === "--growth" || flag === "--json") continue;
    const value = args[++i];
    if (value === undefined) throw new TypeError(`bench --growth: ${flag} needs a value`);
    const positive = (v: string) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1) {
        throw new RangeError(
          `bench --growth: invalid ${flag} "${value}": expected positive integers`,
        );
      }
      return n;
    };
    if (flag in lists) plan[lists[flag as keyof typeof lists]] = value.split(",").map(positive);
    else if (flag in counts) plan[counts[flag as keyof typeof counts]] = positive(value);
    else if (flag === "--out") out = value;
    else {
      throw new TypeError(
        `bench --growth: unknown option "${flag}": expected --out or one of ${
          [...Object.keys(lists), ...Object.keys(counts)].join(", ")
        }`,
      );
    }
  }
  const result = await runGrowth(plan, async (service, benchArgs) => {
    console.error(`bench --growth: sockkit ${service} bench --json ${benchArgs.join(" ")}`);
    return await runServiceBench(service, { args: benchArgs });
  });
  await Deno.mkdir(out, { recursive: true });
  const chart = join(out, "growth.svg");
  await Deno.writeTextFile(chart, growthChart(result));
  await Deno.writeTextFile(join(out, "growth.json"), JSON.stringify(result, null, 2) + "\n");
  if (args.includes("--json")) console.log(JSON.stringify(result));
  else console.log(`${growthTable(result)}\nchart: ${chart}`);
  return result.problems.length > 0 ? 1 : 0;
}

if (import.meta.main && Deno.args.includes("--growth")) {
  try {
    Deno.exit(await growthMain(Deno.args));
  } catch (err) {
    if (!(err instanceof TypeError || err instanceof RangeError)) throw err;
    console.error(err.message);
    Deno.exit(2);
  }
}

if (import.meta.main) {
  const json = Deno.args.includes("--json");
  const named = Deno.args.filter((a) => !a.startsWith("--"));
  const unknown = named.filter((s) => !(BENCH_SERVICES as readonly string[]).includes(s));
  if (unknown.length) {
    console.error(
      `bench: unknown service "${unknown[0]}": expected one of ${BENCH_SERVICES.join(", ")}`,
    );
    Deno.exit(2);
  }
  const services = named.length ? named : [...BENCH_SERVICES];
  const commands = await availableCommands();
  console.error("bench: measuring the machine (load average, thread wake-up round trips)");
  const results: BenchResult[] = await machineBefore();
  for (const service of services) {
    if (!commands.has(service)) {
      results.push({ service, status: "skipped", note: `no "sockkit ${service}" subcommand yet` });
      continue;
    }
    console.error(`bench: running sockkit ${service} bench --json`);
    results.push(await runServiceBench(service));
  }
  results.push({ service: "machine", status: "ok", rows: loadRow("after") });
  if (json) console.log(JSON.stringify({ results }));
  else console.log(formatTable(results));
  if (results.some((r) => r.status === "failed")) Deno.exit(1);
}
