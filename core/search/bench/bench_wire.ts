/**
 * The over-the-wire part of `search bench`: in-process search servers on
 * loopback over the largest generated file, each loaded by
 * {@linkcode runLoad} in turn.
 *
 * @module
 */
import { type LoadOptions, type LoadResult, runLoad } from "../load.ts";
import { type SearchServerOptions, startSearchServer } from "../server.ts";
import { defaultPoolSize } from "../worker_pool.ts";
import { type BenchFile, writeBenchFileIn } from "./bench_data.ts";
import { benchTls } from "./_bench_tls.ts";

/** Options for {@linkcode runWireBench}. */
export interface WireBenchOptions {
  /**
   * The file to serve, already written (as `search bench` wrote it for its
   * method timings). Default: one of `lines` lines written here.
   */
  file?: BenchFile;
  /** Without `file`: lines of the file written to `dir/lines-<lines>.txt`. Default 250000. */
  lines?: number;
  /** Where the file and a throwaway PKI go (the caller removes it). */
  dir: string;
  /** Duration of the TLS run, s; the reread runs take at most 2 s of it. */
  seconds: number;
  /** Progress lines (for stderr), one before each run. */
  onProgress?: (line: string) => void;
}

/** What {@linkcode runWireBench} measured. */
export interface WireBench {
  /** Index mode over TLS, 32 connections, one query in flight each. */
  tlsLoad: LoadResult;
  /** Reread mode over plain TCP, 1 connection. */
  wireReread: LoadResult;
  /** Reread mode over plain TCP, 32 connections, with 1 worker and with one per core. */
  busyReread: Array<{ workers: number; load: LoadResult }>;
}

/**
 * Serves a generated file of `lines` lines from in-process servers and loads
 * each: index mode over TLS at 32 connections for `seconds`, then reread
 * mode over plain TCP at 1 connection and at 32 (with one worker, then one
 * per core), at most 2 s each. Every query is one of the file's (half
 * present, half absent).
 *
 * @example
 * ```ts
 * const wire = await runWireBench({ lines: 250_000, dir: tmp, seconds: 3 });
 * console.log(wire.tlsLoad.qps, wire.wireReread.p50Ms);
 * ```
 */
export async function runWireBench(options: WireBenchOptions): Promise<WireBench> {
  const { dir, seconds } = options;
  const say = options.onProgress ?? (() => {});
  const { path: file, queries, lines } = options.file ??
    await writeBenchFileIn(dir, options.lines ?? 250_000, 200);
  const tls = await benchTls(dir);
  const rereadMs = Math.min(2000, seconds * 1000);
  /** Serves `file` with `server`'s options on a free loopback port and loads it with `load`'s. */
  const loadOne = async (
    server: Omit<SearchServerOptions, "file" | "host" | "port">,
    load: Omit<LoadOptions, "port" | "queries">,
  ): Promise<LoadResult> => {
    await using s = await startSearchServer({ file, host: "127.0.0.1", port: 0, ...server });
    return await runLoad({ port: s.port, queries, ...load });
  };
  say(`over the wire, ${lines} lines: index mode over TLS, 32 connections, ${seconds} s`);
  const tlsLoad = await loadOne(
    { tls: tls.server },
    { tls: tls.client, concurrency: 32, durationMs: seconds * 1000 },
  );
  say(`over the wire, ${lines} lines: reread mode over TCP, 1 connection`);
  const wireReread = await loadOne(
    { rereadOnQuery: true },
    { concurrency: 1, durationMs: rereadMs },
  );
  const busyReread: WireBench["busyReread"] = [];
  for (const workers of [...new Set([1, defaultPoolSize()])]) {
    say(
      `over the wire, ${lines} lines: reread mode over TCP, 32 connections, ${workers} worker(s)`,
    );
    const load = await loadOne(
      { rereadOnQuery: true, workers },
      { concurrency: 32, durationMs: rereadMs },
    );
    busyReread.push({ workers, load });
  }
  return { tlsLoad, wireReread, busyReread };
}
