/**
 * The search server: a TLS or plain TCP listener whose connections are
 * answered by a reread or index {@linkcode Matcher} backed by a pool of
 * search workers.
 */
import {
  type Connection,
  listen,
  type PeerIdentity,
  perAddressCap,
  type Server,
  type TlsMaterial,
} from "../net/mod.ts";
import { type DaemonMetrics, NetMetrics, type Readiness } from "../metrics/mod.ts";
import { type Logger, nullLogger } from "../log/mod.ts";
import { IndexMatcher } from "./index_matcher.ts";
import { type Matcher, RereadMatcher } from "./matcher.ts";
import { type QueryResult, serveSearchSession } from "./session.ts";
import { DEFAULT_SEARCH_PORT } from "./protocol.ts";
import { defaultPoolSize, SearchWorkerPool } from "./worker_pool.ts";

/** Options for {@linkcode startSearchServer}. */
export interface SearchServerOptions {
  /** The file whose lines are searched. */
  file: string;
  /** Reread the file for every query (`true`) or keep an index (`false`). Default `false`. */
  rereadOnQuery?: boolean;
  /** Address to bind. Default `"0.0.0.0"`. */
  host?: string;
  /** Port; 0 picks a free one. Default 44445. */
  port?: number;
  /** TLS material; plain TCP without it. */
  tls?: TlsMaterial;
  /** Refuse clients without an allow-listed certificate (needs `tls.clientCa`). Default `false`. */
  requireClientCert?: boolean;
  /** Extra peer check (revocation). Default: accept. */
  authorize?: (peer: PeerIdentity) => string | undefined;
  /** Search workers. Default: CPU count (1..8) in reread mode, 1 in index mode. */
  workers?: number;
  /** Silence after which a query without newline is answered, ms. Default 50. */
  idleMs?: number;
  /**
   * Close a connection after this many ms without progress in either
   * direction (idle clients cannot hold descriptors forever). Default 60000.
   */
  idleTimeoutMs?: number;
  /**
   * Connections at once from one IP address (loopback exempt), so one client
   * cannot take every descriptor; one more is closed at once and logged.
   * 0 = no cap. Default 64.
   */
  maxPerAddress?: number;
  /** IPv6 addresses count against `maxPerAddress` by their first this many bits. Default 64. */
  ipv6Prefix?: number;
  /** Index mode: quiet time after a change event before rebuilding, ms. Default 50. */
  debounceMs?: number;
  /** Index mode: fallback stat poll interval, ms. Default 1000. */
  pollMs?: number;
  /** Logger; per-query lines at debug level. Default: silent. */
  logger?: Logger;
  /** Registers the search and network series here. Default: none. */
  daemonMetrics?: DaemonMetrics;
}

/** A running search server. */
export class SearchServer implements AsyncDisposable {
  readonly #server: Server;
  readonly #matcher: Matcher;
  readonly #pool: SearchWorkerPool;
  #closing: Promise<void> | undefined;

  /** @internal Use {@linkcode startSearchServer}. */
  constructor(server: Server, matcher: Matcher, pool: SearchWorkerPool) {
    this.#server = server;
    this.#matcher = matcher;
    this.#pool = pool;
  }

  /** The bound port. */
  get port(): number {
    return this.#server.port;
  }

  /** `"reread"` or `"index"`. */
  get mode(): "reread" | "index" {
    return this.#matcher.mode;
  }

  /** The matcher (an {@linkcode IndexMatcher} in index mode). */
  get matcher(): Matcher {
    return this.#matcher;
  }

  /** Live connections. */
  get connections(): number {
    return this.#server.connections.size;
  }

  /** The listener (for reloading its TLS certificates). */
  get listener(): Server {
    return this.#server;
  }

  /** Ready while the file is indexed (index mode) or readable (reread mode), as of its last read. */
  ready(): Readiness {
    if (this.#closing) return { ready: false, detail: "shutting down" };
    const m = this.#matcher;
    if (m.problem !== undefined) {
      return { ready: false, detail: `search file unavailable: ${m.problem}` };
    }
    if (m instanceof IndexMatcher) {
      return { ready: true, detail: `index of ${m.lines} lines built` };
    }
    return { ready: true, detail: "rereading the file on every query" };
  }

  /** Stops accepting, answers what is owed, closes connections, stops workers. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await this.#server.close();
      await this.#matcher.close();
      await this.#pool.close();
    })();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/**
 * Starts a search server. A missing or unreadable file is a `SearchFileError`
 * (in index mode from the first build, in reread mode from a first read).
 *
 * @example
 * ```ts
 * await using server = await startSearchServer({ file: "words.txt", port: 0, host: "127.0.0.1" });
 * ```
 */
export async function startSearchServer(options: SearchServerOptions): Promise<SearchServer> {
  const log = options.logger ?? nullLogger;
  // Index mode only builds in workers (rarely): one is enough.
  const size = options.workers ?? (options.rereadOnQuery ? defaultPoolSize() : 1);
  const pool = new SearchWorkerPool({ size });
  let matcher: Matcher;
  try {
    if (options.rereadOnQuery) {
      matcher = new RereadMatcher(options.file, pool, log);
      await matcher.match(new Uint8Array(0)); // fails now if the file cannot be read
    } else {
      const indexOptions: import("./index_matcher.ts").IndexMatcherOptions = { logger: log };
      if (options.debounceMs !== undefined) indexOptions.debounceMs = options.debounceMs;
      if (options.pollMs !== undefined) indexOptions.pollMs = options.pollMs;
      matcher = await IndexMatcher.open(options.file, pool, indexOptions);
    }
  } catch (err) {
    await pool.close();
    throw err;
  }
  const sessionLog = log.child({ svc: "search" });
  const onAnswer = options.daemonMetrics
    ? searchMetrics(options.daemonMetrics, matcher.mode)
    : undefined;
  const net = options.daemonMetrics
    ? new NetMetrics(options.daemonMetrics, {
      framesIn: onAnswer!.count,
      framesOut: onAnswer!.count,
    })
    : undefined;
  const handler = (conn: Connection, signal: AbortSignal) =>
    serveSearchSession(conn, signal, {
      matcher,
      logger: sessionLog,
      ...(options.idleMs !== undefined ? { idleMs: options.idleMs } : {}),
      ...(onAnswer ? { onAnswer: onAnswer.record } : {}),
    });
  let server: Server;
  try {
    server = await listen({
      host: options.host ?? "0.0.0.0",
      port: options.port ?? DEFAULT_SEARCH_PORT,
      ...(options.tls ? { tls: options.tls } : {}),
      ...(options.requireClientCert ? { requireClientCert: true } : {}),
      ...(options.authorize ? { authorize: options.authorize } : {}),
      ...(net ? { onRefused: net.onRefused } : {}),
      ...perAddressCap(options.maxPerAddress, options.ipv6Prefix),
      logger: log,
      graceMs: 2000,
      policy: { allowHalfOpen: true, idleTimeoutMs: options.idleTimeoutMs ?? 60_000 },
    }, net ? net.wrap(handler) : handler);
  } catch (err) {
    await matcher.close();
    await pool.close();
    throw err;
  }
  return new SearchServer(server, matcher, pool);
}

/** Registers `sockkit_search_queries_total{result,mode}` and the latency histogram. */
function searchMetrics(m: DaemonMetrics, mode: "reread" | "index") {
  const queries = m.counter("search_queries_total", "Queries answered, by result and mode", [
    "result",
    "mode",
  ]);
  const seconds = m.histogram("search_query_seconds", "Time to answer a query, by mode", ["mode"]);
  let count = 0;
  return {
    count: () => count,
    record: (result: QueryResult, s: number) => {
      count++;
      queries.inc({ result, mode });
      seconds.observe({ mode }, s);
    },
  };
}
