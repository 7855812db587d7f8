import { join } from "node:path";
import type { ClientTlsOptions } from "../../net/mod.ts";
import { type SearchServer, startSearchServer } from "../server.ts";
import { writeBenchFile } from "./bench_data.ts";
import { benchTls } from "./_bench_tls.ts";

/** Options for {@linkcode startLoadTarget}. */
export interface LoadTargetOptions {
  /** Where a generated file and a throwaway PKI go (the caller removes it). */
  dir: string;
  /** File to serve. Default: one of `lines` lines generated in `dir`. */
  file?: string;
  /** Lines of the generated file. Default 250000. */
  lines?: number;
  /** Serve over TLS with a throwaway certificate. Default `false`. */
  tls?: boolean;
  /** Reread mode instead of index mode. Default `false`. */
  rereadOnQuery?: boolean;
}

/** An in-process search server to load, with what its load clients need. */
export interface LoadTarget {
  /** The server (the caller closes it). */
  server: SearchServer;
  /** The file served. */
  file: string;
  /** Queries from the generated file (half present, half absent); empty for a given file. */
  queries: string[];
  /** How clients connect when it serves TLS. */
  clientTls?: ClientTlsOptions;
}

/**
 * Starts a search server on a free loopback port for `search load`: over
 * `options.file`, or over a file it generates; over TLS with a throwaway
 * certificate when `options.tls` is set.
 *
 * @example
 * ```ts
 * const target = await startLoadTarget({ dir: tmp, tls: true });
 * await runLoad({ port: target.server.port, tls: target.clientTls, concurrency: 8, durationMs: 3000, queries: target.queries });
 * await target.server.close();
 * ```
 */
export async function startLoadTarget(options: LoadTargetOptions): Promise<LoadTarget> {
  let file = options.file;
  let queries: string[] = [];
  if (!file) {
    file = join(options.dir, "lines.txt");
    queries = await writeBenchFile(file, options.lines ?? 250_000, 200);
  }
  const tls = options.tls ? await benchTls(options.dir) : undefined;
  const server = await startSearchServer({
    file,
    host: "127.0.0.1",
    port: 0,
    rereadOnQuery: options.rereadOnQuery === true,
    ...(tls ? { tls: tls.server } : {}),
  });
  return { server, file, queries, ...(tls ? { clientTls: tls.client } : {}) };
}
