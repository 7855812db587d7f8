/**
 * The query benchmark: a generated CSV of `rows` rows keyed by id, a lookup
 * handler, a server on loopback, and a load generator in its own worker
 * measuring queries/s and p50/p99 latency over UDP and TCP, plain and
 * encrypted. The anchor, measured in the same run, is a bare `node:dgram`
 * echo server driven by the same load generator.
 */
import dgram from "node:dgram";
import { join } from "node:path";
import { type Logger, nullLogger } from "../log/mod.ts";
import type { LoadConfig, LoadResult } from "./bench_load.ts";
import { loadKeyPair, writeKeyPair } from "./keys.ts";
import { startQueryServer } from "./server.ts";
import { loadDataSpec } from "./spec.ts";

/** Options for {@linkcode runQueryBench}. */
export interface QueryBenchOptions {
  /** Rows in the generated CSV. Default 100000. */
  rows?: number;
  /** Queries per UDP case (upper bound). Default 40000. */
  udpQueries?: number;
  /** Queries per TCP case (upper bound). Default 5000. */
  tcpQueries?: number;
  /** Time limit per case, ms. Default 4000. */
  maxMsPerCase?: number;
  /** Queries in flight at once. Default 64. */
  concurrency?: number;
  /** Handler workers. Default 2. */
  workers?: number;
  /** Progress lines. Default: silent. */
  logger?: Logger;
}

/** One measured case. */
export interface QueryBenchCase {
  /** `"udp plain"`, `"tcp encrypted"`, `"udp echo (anchor)"`... */
  name: string;
  transport: "udp" | "tcp";
  encrypted: boolean;
  /** Answered queries. */
  queries: number;
  /** Error replies, timeouts and wrong answers. */
  errors: number;
  /** Answered queries per second. */
  qps: number;
  p50Ms: number;
  p99Ms: number;
}

const HANDLER = `// Benchmark handler: looks the query up in the generated table.
export default function handler(query, data) {
  const row = data.rows[query];
  return row === undefined ? "NOT FOUND" : JSON.stringify(row);
}
`;

async function writeCsv(path: string, rows: number): Promise<void> {
  const lines = ["id,name,group,value"];
  for (let i = 1; i <= rows; i++) lines.push(`${i},name-${i},g${i % 97},${(i * 31) % 10007}`);
  await Deno.writeTextFile(path, lines.join("\n") + "\n");
}

function runInWorker(config: LoadConfig): Promise<LoadResult> {
  const worker = new Worker(new URL("./bench_worker.ts", import.meta.url), { type: "module" });
  return new Promise<LoadResult>((resolve, reject) => {
    worker.onmessage = (e: MessageEvent<{ ok: boolean; result?: LoadResult; error?: string }>) => {
      worker.terminate();
      if (e.data.ok) resolve(e.data.result!);
      else reject(new Error(`Benchmark load failed: ${e.data.error}`));
    };
    worker.onerror = (e) => {
      e.preventDefault();
      worker.terminate();
      reject(new Error(`Benchmark load worker failed: ${e.message}`));
    };
    worker.postMessage(config);
  });
}

function pct(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
}

function toCase(
  name: string,
  transport: "udp" | "tcp",
  encrypted: boolean,
  r: LoadResult,
): QueryBenchCase {
  return {
    name,
    transport,
    encrypted,
    queries: r.done,
    errors: r.errors,
    qps: r.done / (r.elapsedMs / 1000),
    p50Ms: pct(r.latencies, 0.5),
    p99Ms: pct(r.latencies, 0.99),
  };
}

async function echoAnchor(config: Omit<LoadConfig, "port">): Promise<LoadResult> {
  const socket = dgram.createSocket("udp4");
  socket.on("message", (m: Uint8Array, r: dgram.RemoteInfo) => socket.send(m, r.port, r.address));
  await new Promise<void>((res) => socket.bind(0, "127.0.0.1", () => res()));
  try {
    return await runInWorker({ ...config, port: socket.address().port, echo: true });
  } finally {
    await new Promise<void>((res) => socket.close(() => res()));
  }
}

/**
 * Runs every case and returns the figures (the anchor first). Bounded by
 * count and time per case; loopback only; cleans up its temp directory.
 *
 * @example
 * ```ts
 * for (const c of await runQueryBench({ rows: 100_000 })) console.log(c.name, c.qps);
 * ```
 */
export async function runQueryBench(options: QueryBenchOptions = {}): Promise<QueryBenchCase[]> {
  const rows = options.rows ?? 100_000;
  const log = options.logger ?? nullLogger;
  const maxMs = options.maxMsPerCase ?? 4000;
  const concurrency = options.concurrency ?? 64;
  const udpQueries = options.udpQueries ?? 40_000;
  const tcpQueries = options.tcpQueries ?? 5_000;
  const dir = await Deno.makeTempDir({ prefix: "sockkit-query-bench-" });
  try {
    log.info(`generating ${rows} rows`);
    await writeCsv(join(dir, "rows.csv"), rows);
    await Deno.writeTextFile(
      join(dir, "spec.json"),
      JSON.stringify({ files: [{ path: "rows.csv", key: "id" }] }),
    );
    await Deno.writeTextFile(join(dir, "handler.js"), HANDLER);
    const keys = await writeKeyPair(join(dir, "keys"));
    const keyPair = await loadKeyPair(keys.privateKey);
    const cases: QueryBenchCase[] = [];
    const base = { queries: udpQueries, maxMs, concurrency, rows };
    log.info("anchor: bare node:dgram echo");
    cases.push(
      toCase("udp echo (anchor)", "udp", false, await echoAnchor({ ...base, transport: "udp" })),
    );
    await using server = await startQueryServer({
      spec: await loadDataSpec(join(dir, "spec.json")),
      handler: join(dir, "handler.js"),
      host: "127.0.0.1",
      port: 0,
      key: keyPair,
      handlerTimeoutMs: 5000,
      ...(options.workers !== undefined ? { workers: options.workers } : {}),
    });
    const port = server.tcpPort!;
    const plan: Array<[string, "udp" | "tcp", boolean, number]> = [
      ["udp plain", "udp", false, udpQueries],
      ["udp encrypted", "udp", true, Math.ceil(udpQueries / 4)],
      ["tcp plain", "tcp", false, tcpQueries],
      ["tcp encrypted", "tcp", true, tcpQueries],
    ];
    log.info("warming up");
    await runInWorker({ ...base, queries: Math.min(5000, udpQueries), transport: "udp", port });
    for (const [name, transport, encrypted, queries] of plan) {
      log.info(`running ${name}`);
      const r = await runInWorker({
        ...base,
        queries,
        transport,
        port,
        ...(encrypted ? { serverKey: keyPair.publicKey.raw } : {}),
      });
      cases.push(toCase(name, transport, encrypted, r));
    }
    return cases;
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}
