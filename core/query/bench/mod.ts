/**
 * The query benchmark: a generated CSV of `rows` rows keyed by id, a lookup
 * handler, a server on loopback, and a load generator in its own worker
 * measuring queries/s and p50/p99 latency over UDP and TCP, plain and
 * encrypted. The anchor, measured in the same run by the same load
 * generator, is a plain Python `socketserver` UDP server doing the same
 * lookup over the same CSV (`bench_anchor.py`), at each number of queries in
 * flight of the plain UDP case. Beside them, at the same levels, the
 * runtime ceiling (`bench_ceiling.ts`): the same UDP path with the handler
 * called inline, no worker, once per datagram backend.
 */
import { join } from "node:path";
import { type DatagramBackend, defaultDatagramBackend } from "../../net/mod.ts";
import { type Logger, nullLogger } from "../../log/mod.ts";
import { pct } from "../../stats/mod.ts";
import type { LoadConfig, LoadResult } from "./bench_load.ts";
import { startPythonAnchor } from "./bench_anchor.ts";
import { ceilingName, startCeiling } from "./bench_ceiling.ts";
export * from "./bench_ratios.ts";
export * from "./bench_data.ts";
import { writeBenchData } from "./bench_data.ts";
import type { QueryBenchCase } from "./bench_ratios.ts";
import { loadKeyPair, writeKeyPair } from "../keys.ts";
import { startQueryServer } from "../server.ts";
import { loadDataSpec } from "../spec.ts";

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
  /** Queries in flight of the plain UDP case and its anchor, one case each. Default `[1, 32]`. */
  inFlight?: number[];
  /** Queries in flight of the encrypted and TCP cases. Default 32. */
  concurrency?: number;
  /** The server's UDP socket implementation. Default: the seam's. */
  backend?: DatagramBackend;
  /** The Python interpreter for the anchor. Default `"python3"`. */
  python?: string;
  /** Handler workers. Default 2. */
  workers?: number;
  /**
   * Datagram backends of the runtime ceiling, one case each at every level
   * in flight; `[]` leaves the ceiling out. Default `["deno", "node"]`.
   */
  ceiling?: DatagramBackend[];
  /** Progress lines. Default: silent. */
  logger?: Logger;
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

/** A case with no answered query has no latency: NaN, printed as "-". */
const NO_LATENCY = { empty: NaN } as const;

/** What a case is, before its figures. */
type CaseInfo =
  & Pick<QueryBenchCase, "name" | "inFlight" | "transport" | "encrypted">
  & Partial<Pick<QueryBenchCase, "ceiling" | "backend">>;

function toCase(info: CaseInfo, r: LoadResult): QueryBenchCase {
  return {
    anchor: info.name === ANCHOR,
    ceiling: false,
    ...info,
    queries: r.done,
    errors: r.errors,
    qps: r.done / (r.elapsedMs / 1000),
    p50Ms: pct(r.latencies, 0.5, NO_LATENCY),
    p99Ms: pct(r.latencies, 0.99, NO_LATENCY),
  };
}

/** The anchor's case name. */
export const ANCHOR = "python socketserver (anchor)";

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
  const concurrency = options.concurrency ?? 32;
  const inFlight = options.inFlight ?? [1, 32];
  const udpQueries = options.udpQueries ?? 400_000;
  const tcpQueries = options.tcpQueries ?? 5_000;
  const ceilingBackends = options.ceiling ?? ["deno", "node"];
  const dir = await Deno.makeTempDir({ prefix: "sockkit-query-bench-" });
  try {
    log.info(`generating ${rows} rows`);
    const data = await writeBenchData(dir, rows);
    const keys = await writeKeyPair(join(dir, "keys"));
    const keyPair = await loadKeyPair(keys.privateKey);
    const cases: QueryBenchCase[] = [];
    await using anchor = await startPythonAnchor(
      dir,
      data.csv,
      options.python ? { python: options.python } : {},
    );
    await using server = await startQueryServer({
      spec: await loadDataSpec(data.spec),
      handler: data.handler,
      host: "127.0.0.1",
      port: 0,
      key: keyPair,
      handlerTimeoutMs: 5000,
      ...(options.workers !== undefined ? { workers: options.workers } : {}),
      ...(options.backend !== undefined ? { udpBackend: options.backend } : {}),
    });
    await using ceilings = new AsyncDisposableStack();
    const ceilingPorts: Array<[DatagramBackend, number]> = [];
    for (const backend of ceilingBackends) {
      ceilingPorts.push([backend, ceilings.use(await startCeiling(data, backend)).port]);
    }
    const backend = options.backend ?? defaultDatagramBackend();
    const port = server.tcpPort!;
    const base = { queries: udpQueries, maxMs, rows };
    const warm = { ...base, queries: Math.min(20_000, udpQueries), maxMs: Math.min(maxMs, 2000) };
    log.info("warming up");
    for (const p of [port, anchor.port, ...ceilingPorts.map(([, p]) => p)]) {
      await runInWorker({ ...warm, concurrency, transport: "udp", port: p });
    }
    // The anchor, the ceilings and sockkit alternate at each level, so
    // drift in the machine's load hits them alike.
    for (const n of inFlight) {
      log.info(`running ${ANCHOR}, ${n} in flight`);
      const a = await runInWorker({ ...base, concurrency: n, transport: "udp", port: anchor.port });
      const udp = { inFlight: n, transport: "udp", encrypted: false } as const;
      cases.push(toCase({ ...udp, name: ANCHOR }, a));
      for (const [b, p] of ceilingPorts) {
        const name = ceilingName(b);
        log.info(`running ${name}, ${n} in flight`);
        const c = await runInWorker({ ...base, concurrency: n, transport: "udp", port: p });
        cases.push(toCase({ ...udp, name, ceiling: true, backend: b }, c));
      }
      log.info(`running udp plain, ${n} in flight`);
      const r = await runInWorker({ ...base, concurrency: n, transport: "udp", port });
      cases.push(toCase({ ...udp, name: "udp plain", backend }, r));
    }
    const plan: Array<[string, "udp" | "tcp", boolean, number]> = [
      ["udp encrypted", "udp", true, Math.ceil(udpQueries / 4)],
      ["tcp plain", "tcp", false, tcpQueries],
      ["tcp encrypted", "tcp", true, tcpQueries],
    ];
    for (const [name, transport, encrypted, queries] of plan) {
      log.info(`running ${name}`);
      const r = await runInWorker({
        ...base,
        concurrency,
        queries,
        transport,
        port,
        ...(encrypted ? { serverKey: keyPair.publicKey.raw } : {}),
      });
      const udpBackend = transport === "udp" ? { backend } : {};
      cases.push(toCase({ name, transport, encrypted, inFlight: concurrency, ...udpBackend }, r));
    }
    return cases;
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}
