import { createClient } from "redis";
import type { Logger } from "../../log/mod.ts";
import type { ClientTlsOptions } from "../../net/mod.ts";
import { initPki, issueClient, loadCertsDirTls, loadClientTls } from "../../pki/mod.ts";
import { type RedisServer, startRedisServer } from "../../demo/redis_process.ts";
import { redisBenchmarkHset } from "../_anchor.ts";
import { type Shape, shapeCommand } from "./bench_payload.ts";
import type { BenchWorkerMessage, BenchWorkerRequest } from "./bench_worker.ts";
import { type IngestOptions, startIngest } from "../server.ts";
import { errorText } from "../../log/mod.ts";

/** Options for {@linkcode runIngestBench}. */
export interface IngestBenchOptions {
  /** Concurrent mutual-TLS clients. Default 10. */
  clients?: number;
  /** Objects in total (split evenly across clients). Default 500,000. */
  objects?: number;
  /** Payload shape. Default `"nested"`. */
  shape?: Shape;
  /** Total objects/s to offer; 0 = as fast as possible. Default 0. */
  rate?: number;
  /** Use this Redis instead of starting a private one. */
  redisUrl?: string;
  /**
   * Load an already running server (`HOST:PORT`, started with `--ack`)
   * instead of one in-process; needs `clientTls`.
   */
  target?: { host: string; port: number };
  /** Client TLS for `target`. */
  clientTls?: ClientTlsOptions;
  /** Skip the redis-benchmark anchor. Default `false`. */
  noAnchor?: boolean;
  /** Progress callback, about 5 times a second. */
  onProgress?: (p: BenchProgress) => void;
  /** Called as each phase starts (`"measuring the redis-benchmark anchor"`). */
  onPhase?: (text: string) => void;
  /** Logger for the in-process server. Default: silent. */
  logger?: Logger;
  /** Stops the run (everything it started and wrote is cleaned up); the call rejects. */
  signal?: AbortSignal;
  /** Tuning for the in-process server (batch size, in-flight batches, water marks). */
  server?: Pick<IngestOptions, "maxBatch" | "maxInflight" | "highWater" | "layout">;
}

/** Progress of a run. */
export interface BenchProgress {
  sent: number;
  acked: number;
  total: number;
  elapsedMs: number;
}

/** The figures of a run. */
export interface IngestBenchResult {
  clients: number;
  shape: Shape;
  /** Objects sent. */
  sent: number;
  /** Objects acknowledged by the server. */
  acknowledged: number;
  /** Objects found in Redis afterwards. */
  stored: number;
  /** `sent - stored`. */
  lost: number;
  seconds: number;
  objectsPerSecond: number;
  /** Send-to-acknowledgement latency percentiles, ms (weighted by objects). */
  p50Ms: number;
  p99Ms: number;
  /** redis-benchmark -P 16 HSET requests/s on the same Redis, this run. */
  anchorHsetPerSecond: number | undefined;
  /** `objectsPerSecond / anchorHsetPerSecond`. */
  ratio: number | undefined;
  /** redis-benchmark -P 16 of the very command each object becomes (same shape), this run. */
  anchorShapePerSecond: number | undefined;
  /** Server error lines seen by clients. */
  errors: string[];
  /** The run's keys deleted afterwards from a Redis given as `redisUrl` (the key pattern and count). */
  cleaned?: { pattern: string; keys: number };
}

/**
 * Fails fast, naming the URL, when nothing answers PING at `url` within 3 s
 * (an unreachable Redis would otherwise have the server spool the whole run).
 */
export async function pingRedis(url: string): Promise<void> {
  const c = createClient({ url, socket: { connectTimeout: 3000, reconnectStrategy: false } });
  c.on("error", () => {});
  try {
    await c.connect();
    await c.ping();
  } catch (err) {
    throw new Error(
      `Cannot reach Redis at "${url}": ${
        errorText(err)
      } (start it, or leave out --redis to use a private redis-server)`,
      { cause: err },
    );
  } finally {
    await c.close().catch(() => {});
  }
}

type RedisClient = ReturnType<typeof createClient>;

/**
 * Scans the keys matching `pattern` at `url` on a client of its own, hands
 * each batch to `each` and returns the sum of what it counted.
 */
async function sumOverKeys(
  url: string,
  pattern: string,
  each: (c: RedisClient, keys: string[]) => number | Promise<number>,
): Promise<number> {
  const c = createClient({ url });
  c.on("error", () => {});
  await c.connect();
  try {
    let n = 0;
    for await (const keys of c.scanIterator({ MATCH: pattern, COUNT: 10000 })) {
      n += await each(c, keys);
    }
    return n;
  } finally {
    await c.close();
  }
}

/** Deletes the keys matching `pattern`; returns how many. */
function deleteKeys(url: string, pattern: string): Promise<number> {
  return sumOverKeys(url, pattern, (c, keys) => keys.length > 0 ? c.unlink(keys) : 0);
}

/** Counts the keys matching `pattern`. */
function countKeys(url: string, pattern: string): Promise<number> {
  return sumOverKeys(url, pattern, (_c, keys) => keys.length);
}

function percentile(values: number[], weights: number[], p: number): number {
  const idx = values.map((_, i) => i).sort((a, b) => values[a]! - values[b]!);
  const total = weights.reduce((a, b) => a + b, 0);
  let acc = 0;
  for (const i of idx) {
    acc += weights[i]!;
    if (acc >= total * p) return values[i]!;
  }
  return values[idx.at(-1) ?? 0] ?? 0;
}

/** Why a bench stopped early, the same whichever phase the stop came in. */
function interrupted(): Error {
  return new Error("Bench interrupted: stopped and cleaned up");
}

function stopIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw interrupted();
}

/**
 * The ingest load generator: starts a private Redis (unless `redisUrl`) and
 * an in-process ingest server with `--ack` (unless `target`), measures the
 * `redis-benchmark -P 16` HSET ceiling on that Redis, then runs `clients`
 * mutual-TLS clients in a Web Worker that send pre-encoded objects back to
 * back. Reports objects/s (first byte sent to last acknowledgement), latency
 * percentiles from send to acknowledgement, and the count found in Redis.
 */
export async function runIngestBench(options: IngestBenchOptions = {}): Promise<IngestBenchResult> {
  const clients = options.clients ?? 10;
  const total = options.objects ?? 500_000;
  const perClient = Math.ceil(total / clients);
  const shape = options.shape ?? "nested";
  const run = `bench${Date.now().toString(36)}`;
  const cleanup: Array<() => Promise<unknown>> = [];
  let cleaned: IngestBenchResult["cleaned"];
  const phase = options.onPhase ?? (() => {});
  try {
    stopIfAborted(options.signal);
    let redisUrl = options.redisUrl;
    if (redisUrl) {
      phase(`checking Redis at ${redisUrl}`);
      await pingRedis(redisUrl);
      const url = redisUrl;
      // Whatever happens, the run's keys do not stay in the user's Redis.
      cleanup.push(() => cleaned ? Promise.resolve() : deleteKeys(url, `*${run}:c*`));
    } else {
      phase("starting a private redis-server");
      const redis: RedisServer = await startRedisServer(
        options.logger ? { logger: options.logger } : {},
      );
      cleanup.push(async () => await redis[Symbol.asyncDispose]());
      redisUrl = redis.url;
    }
    const u = new URL(redisUrl);
    let anchor: number | undefined;
    let shapeAnchor: number | undefined;
    if (!options.noAnchor) {
      phase("measuring the anchor: redis-benchmark -P 16 HSET, then the same-shape command");
      const where = { host: u.hostname || "127.0.0.1", port: Number(u.port || 6379), clients };
      anchor = await redisBenchmarkHset(where);
      shapeAnchor = await redisBenchmarkHset({
        ...where,
        requests: 300_000,
        command: shapeCommand(shape),
      });
      const c = createClient({ url: redisUrl });
      c.on("error", () => {});
      await c.connect();
      for await (const keys of c.scanIterator({ MATCH: "anchor:*", COUNT: 10000 })) {
        if (keys.length > 0) await c.del(keys);
      }
      await c.close();
    }
    let host: string;
    let port: number;
    let tls: ClientTlsOptions;
    if (options.target) {
      if (!options.clientTls) throw new TypeError("A bench --target needs client TLS files");
      ({ host, port } = options.target);
      tls = options.clientTls;
    } else {
      const dir = await Deno.makeTempDir({ prefix: "sockkit-ingest-bench-" });
      cleanup.push(() => Deno.remove(dir, { recursive: true }));
      const paths = await initPki(`${dir}/certs`);
      const client = await issueClient(`${dir}/certs`, "bench");
      const server = await startIngest({
        host: "127.0.0.1",
        port: 0,
        tls: await loadCertsDirTls(`${dir}/certs`),
        redisUrl,
        ack: true,
        spoolDir: `${dir}/spool`,
        ...options.server,
        ...(options.logger ? { logger: options.logger } : {}),
      });
      cleanup.push(() => server.close());

      host = "127.0.0.1";
      port = server.port;
      tls = await loadClientTls({ ca: paths.ca, cert: client.cert, key: client.key });
    }
    stopIfAborted(options.signal);
    phase(`${clients} mTLS clients sending ${total} ${shape} objects`);
    const worker = new Worker(new URL("./bench_worker.ts", import.meta.url), { type: "module" });
    cleanup.push(() => Promise.resolve(worker.terminate()));
    const request: BenchWorkerRequest = {
      host,
      port,
      tls,
      run,
      clients: Array.from({ length: clients }, (_, i) => i),
      perClient,
      shape,
      rate: (options.rate ?? 0) / clients,
    };
    let t0 = 0;
    const done = await new Promise<Extract<BenchWorkerMessage, { type: "done" }>>(
      (resolve, reject) => {
        options.signal?.addEventListener(
          "abort",
          () => reject(interrupted()),
          { once: true },
        );
        worker.onerror = (e) => {
          e.preventDefault();
          reject(new Error(`Bench worker failed: ${e.message}`));
        };
        worker.onmessage = (e: MessageEvent<BenchWorkerMessage>) => {
          const m = e.data;
          if (m.type === "ready") {
            t0 = performance.now();
            worker.postMessage("start");
          } else if (m.type === "progress") {
            options.onProgress?.({
              sent: m.sent,
              acked: m.acked,
              total: perClient * clients,
              elapsedMs: performance.now() - t0,
            });
          } else if (m.type === "done") resolve(m);
          else reject(new Error(`Bench client failed: ${m.message}`));
        };
        worker.postMessage(request);
      },
    );
    const seconds = (performance.now() - t0) / 1000;
    phase("counting the stored objects in Redis");
    const stored = await countKeys(redisUrl, `*${run}:c*`);
    if (options.redisUrl) {
      cleaned = { pattern: `*${run}:c*`, keys: await deleteKeys(redisUrl, `*${run}:c*`) };
    }
    const ops = done.acked / seconds;
    return {
      clients,
      shape,
      sent: done.sent,
      acknowledged: done.acked,
      stored,
      lost: done.sent - stored,
      seconds,
      objectsPerSecond: ops,
      p50Ms: percentile(done.latencies, done.weights, 0.5),
      p99Ms: percentile(done.latencies, done.weights, 0.99),
      anchorHsetPerSecond: anchor,
      ratio: anchor ? ops / anchor : undefined,
      anchorShapePerSecond: shapeAnchor,
      errors: done.errors.slice(0, 10),
      ...(cleaned ? { cleaned } : {}),
    };
  } finally {
    for (const c of cleanup.reverse()) await c().catch(() => {});
  }
}

export { SHAPES } from "./bench_payload.ts";
