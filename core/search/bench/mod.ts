/**
 * `search bench`: times every {@linkcode SearchMethod} in both modes over
 * generated files of each size, checks every answer against a reference,
 * and returns per-cell latency figures; optionally loads the largest file
 * over the wire ({@linkcode runWireBench}).
 */
import { type SearchMethod, searchMethods } from "./bench_methods.ts";
import { type BenchFile, writeBenchFileIn } from "./bench_data.ts";
import { runWireBench, type WireBench } from "./bench_wire.ts";
import { LineTable } from "../line_table.ts";
import { readFileBytes } from "../file_bytes.ts";
import { SearchWorkerPool } from "../worker_pool.ts";
import { pct } from "../../stats/mod.ts";

/** Options for {@linkcode runSearchBench}. */
export interface SearchBenchOptions {
  /** Line counts of the generated files. Default `[10000, 100000, 250000]`. */
  sizes?: number[];
  /** Where the generated files and the wire runs' PKI go (created; the caller removes it). */
  dir: string;
  /** Most queries timed per method, mode and size. Default 200. */
  maxQueries?: number;
  /** Fewest queries timed per cell, however slow. Default 5. */
  minQueries?: number;
  /** Time budget per cell after `minQueries`, ms. Default 400. */
  budgetMs?: number;
  /** Only these methods (names). Default: all. */
  methods?: string[];
  /**
   * Then load the largest file over the wire ({@linkcode runWireBench}) for
   * so many seconds, serving the file already written. Default 0: no wire runs.
   */
  loadSeconds?: number;
  /** Progress lines (for stderr). */
  onProgress?: (line: string) => void;
  /** Aborts between cells. */
  signal?: AbortSignal;
}

/** Timing of one method, mode and file size. */
export interface BenchCell {
  method: string;
  mode: "reread" | "index";
  lines: number;
  /** Median time per query, ms. */
  p50Ms: number;
  /** 99th percentile, ms. */
  p99Ms: number;
  /** Mean, ms. */
  meanMs: number;
  /** Queries timed. */
  queries: number;
  /** Index mode: time to prepare the structure, ms. */
  prepareMs?: number;
  /** Answers that disagreed with the reference. */
  wrong: number;
}

/** The outcome of {@linkcode runSearchBench}. */
export interface SearchBenchResult {
  cells: BenchCell[];
  files: Array<{ lines: number; bytes: number }>;
  /** The methods timed (`floor`: not a search, see {@linkcode SearchMethod.floor}). */
  methods: Array<{ name: string; description: string; floor?: true }>;
}

/** The outcome of {@linkcode runSearchBench}: the method timings and the wire runs. */
export interface SearchBenchRun {
  /** Per method, mode and size. */
  result: SearchBenchResult;
  /** Over the wire, with `loadSeconds` > 0; else `undefined`. */
  wire: WireBench | undefined;
}

/**
 * Runs the benchmark: writes a generated file per size into `dir` (each
 * once, with a mix of at least 200 queries), times the methods over them,
 * then, with `loadSeconds`, loads the largest over the wire. Every answer is
 * checked against a reference index; a method that answers wrongly is
 * reported (`wrong > 0`), not hidden.
 *
 * @example
 * ```ts
 * const { result, wire } = await runSearchBench({ sizes: [10_000], dir: tmp, loadSeconds: 3 });
 * console.log(textTables(result), wire?.tlsLoad.qps);
 * ```
 */
export async function runSearchBench(options: SearchBenchOptions): Promise<SearchBenchRun> {
  const sizes = options.sizes ?? [10_000, 100_000, 250_000];
  const maxQ = options.maxQueries ?? 200;
  const minQ = options.minQueries ?? 5;
  const budget = options.budgetMs ?? 400;
  const say = options.onProgress ?? (() => {});
  await Deno.mkdir(options.dir, { recursive: true });
  await using pool = new SearchWorkerPool(); // as many workers as the server uses in reread mode
  const all = searchMethods(pool);
  const unknown = options.methods?.find((n) => !all.some((m) => m.name === n));
  if (unknown !== undefined) {
    throw new RangeError(
      `Unknown search method "${unknown}": expected one of ${all.map((m) => m.name).join(", ")}`,
    );
  }
  const methods = all.filter((m) => !options.methods || options.methods.includes(m.name));
  say(`generating files of ${sizes.join(", ")} lines`);
  const written: BenchFile[] = [];
  for (const lines of sizes) {
    // 200 queries at least: the wire runs' mix.
    written.push(await writeBenchFileIn(options.dir, lines, Math.max(maxQ, 200)));
  }
  const cells: BenchCell[] = [];
  const files: SearchBenchResult["files"] = [];
  const enc = new TextEncoder();
  for (const { lines, path, queries: texts } of written) {
    const queries = texts.map((t) => enc.encode(t));
    const reference = LineTable.build(readFileBytes(path).bytes);
    const expected = queries.map((q) => reference.has(q));
    files.push({ lines, bytes: (await Deno.stat(path)).size });
    say(`search bench: ${lines} lines (${files.at(-1)!.bytes} bytes)`);
    for (const m of methods) {
      for (const mode of ["reread", "index"] as const) {
        options.signal?.throwIfAborted();
        const cell = await timeCell(m, mode, path, queries, expected, { maxQ, minQ, budget });
        if (!cell) continue;
        cells.push({ ...cell, lines });
        say(
          `  ${mode.padEnd(6)} ${m.name.padEnd(18)} p50 ${fmtMs(cell.p50Ms)}  p99 ${
            fmtMs(cell.p99Ms)
          }  (${cell.queries} queries${cell.wrong ? `, ${cell.wrong} WRONG` : ""})`,
        );
      }
    }
  }
  const result = {
    cells,
    files,
    methods: methods.map((m) => ({
      name: m.name,
      description: m.description,
      ...(m.floor ? { floor: true as const } : {}),
    })),
  };
  const seconds = options.loadSeconds ?? 0;
  const largest = written.reduce<BenchFile | undefined>(
    (a, b) => (a && a.lines >= b.lines ? a : b),
    undefined,
  );
  const wire = seconds > 0 && largest
    ? await runWireBench({ file: largest, dir: options.dir, seconds, onProgress: say })
    : undefined;
  return { result, wire };
}

/** Formats milliseconds readably: `0.8 µs`, `12.3 µs`, `1.24 ms`, `250 ms`. */
export function fmtMs(ms: number): string {
  if (!Number.isFinite(ms)) return "-";
  if (ms < 0.1) return `${(ms * 1000).toFixed(ms < 0.01 ? 2 : 1)} µs`;
  if (ms < 10) return `${ms.toFixed(2)} ms`;
  return `${ms.toFixed(ms < 100 ? 1 : 0)} ms`;
}

async function timeCell(
  m: SearchMethod,
  mode: "reread" | "index",
  path: string,
  queries: Uint8Array[],
  expected: boolean[],
  limits: { maxQ: number; minQ: number; budget: number },
): Promise<Omit<BenchCell, "lines"> | undefined> {
  let run: (q: Uint8Array) => boolean | Promise<boolean>;
  let prepareMs: number | undefined;
  if (mode === "reread") {
    const reread = m.reread;
    if (!reread) return undefined;
    run = (q) => reread(path, q);
  } else {
    if (!m.index) return undefined;
    const t0 = performance.now();
    run = await m.index(path);
    prepareMs = performance.now() - t0;
  }
  // Warm up (JIT, caches) with one present and one absent query.
  await run(queries[0]!);
  await run(queries[1]!);
  const times: number[] = [];
  let wrong = 0;
  const started = performance.now();
  for (let i = 0; i < limits.maxQ; i++) {
    if (i >= limits.minQ && performance.now() - started > limits.budget) break;
    const k = i % queries.length;
    const t0 = performance.now();
    const r = run(queries[k]!);
    const found = typeof r === "boolean" ? r : await r;
    times.push(performance.now() - t0);
    if (!m.floor && found !== expected[k]) wrong++;
  }
  times.sort((a, b) => a - b);
  const cell: Omit<BenchCell, "lines"> = {
    method: m.name,
    mode,
    p50Ms: pct(times, 0.5, { empty: NaN }),
    p99Ms: pct(times, 0.99, { empty: NaN }),
    meanMs: times.reduce((a, b) => a + b, 0) / times.length,
    queries: times.length,
    wrong,
  };
  if (prepareMs !== undefined) cell.prepareMs = prepareMs;
  return cell;
}
