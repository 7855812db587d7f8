/**
 * `search load`: queries/s and latency percentiles against a running search
 * server, per concurrency level, from load workers (so the generator does
 * not share a thread with an in-process server).
 */
import type { ClientTlsOptions } from "../net/mod.ts";
import type { LoadReply, LoadRequest } from "./_load_protocol.ts";
import { pct } from "../stats/mod.ts";

/** Options for {@linkcode runLoad}. */
export interface LoadOptions {
  /** Server host. Default `"127.0.0.1"`. */
  host?: string;
  /** Server port. */
  port: number;
  /** TLS settings; plain TCP without them. */
  tls?: ClientTlsOptions;
  /** Connections. */
  concurrency: number;
  /** How long to send, ms. */
  durationMs: number;
  /** Queries to cycle through. */
  queries: string[];
  /** An answer slower than this is a timeout (the connection is dropped), ms. Default 2000. */
  timeoutMs?: number;
  /** Queries in flight per connection. Default 1. */
  pipeline?: number;
  /** Load worker threads. Default 1 (leave the other core to the server). */
  workers?: number;
}

/** The outcome of one concurrency level. */
export interface LoadResult {
  concurrency: number;
  answered: number;
  qps: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  timeouts: number;
  firstError?: string;
}

/**
 * Runs one level: `concurrency` connections sending queries back to back
 * (`pipeline` in flight each) for `durationMs`.
 *
 * @example
 * ```ts
 * const r = await runLoad({ port, concurrency: 32, durationMs: 3000, queries: ["apple"] });
 * console.log(r.qps, r.p50Ms, r.p99Ms);
 * ```
 */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const workers = Math.max(1, Math.min(options.workers ?? 1, options.concurrency));
  const shares = Array.from(
    { length: workers },
    (_, i) =>
      Math.floor(options.concurrency / workers) + (i < options.concurrency % workers ? 1 : 0),
  );
  const replies = await Promise.all(shares.map((connections) => {
    const req: LoadRequest = {
      host: options.host ?? "127.0.0.1",
      port: options.port,
      connections,
      durationMs: options.durationMs,
      queries: options.queries,
      timeoutMs: options.timeoutMs ?? 2000,
      pipeline: options.pipeline ?? 1,
      ...(options.tls ? { tls: options.tls } : {}),
    };
    return new Promise<LoadReply>((resolve, reject) => {
      const w = new Worker(new URL("./load_worker.ts", import.meta.url), { type: "module" });
      w.onmessage = (e: MessageEvent<LoadReply>) => {
        w.terminate();
        resolve(e.data);
      };
      w.onerror = (e) => {
        e.preventDefault();
        w.terminate();
        reject(new Error(`Load worker failed: ${e.message}`));
      };
      w.postMessage(req);
    });
  }));
  let total = 0;
  for (const r of replies) total += r.latencies.length;
  const all = new Float64Array(total);
  let at = 0;
  for (const r of replies) {
    all.set(r.latencies, at);
    at += r.latencies.length;
  }
  all.sort();
  const elapsed = Math.max(...replies.map((r) => r.elapsedMs));
  const firstError = replies.find((r) => r.firstError !== undefined)?.firstError;
  return {
    concurrency: options.concurrency,
    answered: total,
    qps: total / (elapsed / 1000),
    p50Ms: pct(all, 0.5, { empty: NaN }),
    p99Ms: pct(all, 0.99, { empty: NaN }),
    errors: replies.reduce((a, r) => a + r.errors, 0),
    timeouts: replies.reduce((a, r) => a + r.timeouts, 0),
    ...(firstError !== undefined ? { firstError } : {}),
  };
}

/**
 * Runs {@linkcode runLoad} at each concurrency level in turn and stops after
 * the first level with errors or timeouts (the failure point).
 */
export async function runLoadSweep(
  levels: number[],
  options: Omit<LoadOptions, "concurrency">,
  onLevel?: (r: LoadResult) => void,
): Promise<LoadResult[]> {
  const out: LoadResult[] = [];
  for (const concurrency of levels) {
    const r = await runLoad({ ...options, concurrency });
    out.push(r);
    onLevel?.(r);
    if (r.errors > 0 || r.timeouts > 0) break;
  }
  return out;
}
