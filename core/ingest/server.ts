import { type LogBudget, type Logger, nullLogger } from "../log/mod.ts";
import {
  type Connection,
  listen,
  type PeerIdentity,
  perAddressCap,
  type Server,
  type TlsMaterial,
} from "../net/mod.ts";
import { type DaemonMetrics, NetMetrics, type Readiness } from "../metrics/mod.ts";
import { ClusterStore } from "./_cluster_store.ts";
import type { Layout } from "./layout.ts";
import { IngestMetrics } from "./metrics.ts";
import { ThreadedRespStore } from "./_resp_thread.ts";
import { IngestSession, rejectBudget } from "./_session.ts";
import { Spool } from "./_spool.ts";
import type { BatchStore } from "./_store.ts";
import { BatchWriter } from "./_writer.ts";

/** Options for {@linkcode startIngest}. */
export interface IngestOptions {
  /** Address to bind. Default `"0.0.0.0"`. */
  host?: string;
  /** Port; `0` picks a free one. Default 1191. */
  port?: number;
  /** Server certificate, key and client allow-list (PEM). Mutual TLS is mandatory. */
  tls: TlsMaterial;
  /** Extra check after the handshake, e.g. `revocationCheck(...)`. Default: none. */
  authorize?: (peer: PeerIdentity) => string | undefined;
  /**
   * Highest TLS version offered. Default `"TLSv1.2"`: ingest clients send and
   * close without reading, and under TLS 1.3 the session tickets they leave
   * unread turn their close into a TCP reset that discards the objects the
   * server had not read yet (see `ListenOptions.tlsMaxVersion`).
   */
  tlsMaxVersion?: "TLSv1.2" | "TLSv1.3";
  /**
   * Connections at once (live and in handshake) from one IP address, loopback
   * exempt, so one client cannot take every descriptor before any handshake;
   * one more is closed at once and logged. 0 = no cap. Default 64.
   */
  maxPerAddress?: number;
  /** IPv6 addresses count against `maxPerAddress` by their first this many bits. Default 64. */
  ipv6Prefix?: number;
  /** Redis URL (`redis://host:port[/db]`). Default `redis://127.0.0.1:6379`. */
  redisUrl?: string;
  /** Redis Cluster node URLs; when set, `redisUrl` is ignored. */
  redisCluster?: string[];
  /** Database number (single server only). Default: the URL's, else 0. */
  db?: number;
  /** Storage layout. Default `"kv"`. */
  layout?: Layout;
  /** Key prefix. Default `""`. */
  keyPrefix?: string;
  /** Stream key, before the prefix (stream layout). Default `"ingest"`. */
  streamKey?: string;
  /** `MAXLEN ~ N` for the stream layout. Default: no trimming. */
  streamMaxlen?: number;
  /** Acknowledgement lines. Default `false` (silent, as seed clients expect). */
  ack?: boolean;
  /** Largest object, bytes. Default 1 MiB. */
  maxPayload?: number;
  /** Disk spool directory for Redis outages. Default: none (batches wait in memory). */
  spoolDir?: string;
  /** Spool size cap, bytes. Default 1 GiB. */
  spoolMax?: number;
  /** Registers the ingest and network series here (serve them with `serveMetrics`). Default: none. */
  daemonMetrics?: DaemonMetrics;
  /** Objects per Redis batch. Default 1024. */
  maxBatch?: number;
  /** Batches in flight to Redis. Default 16. */
  maxInflight?: number;
  /** Queued objects at which clients are paused. Default 32768. */
  highWater?: number;
  /** How long a drain may take before connections are cut, ms. Default 30000. */
  drainTimeoutMs?: number;
  /** Logger. Default: silent. */
  logger?: Logger;
}

/** What {@linkcode IngestServer.writer} shows of the batch writer. */
export interface WriterState {
  /** Objects accepted and not yet in Redis or the spool. */
  readonly queued: number;
  /** Whether client input is paused (queue at or above the high-water mark). */
  readonly overloaded: boolean;
  /** Whether batches go to Redis now (not spooling or replaying the spool). */
  readonly live: boolean;
}

/**
 * A running ingest server. `close()` drains: stop accepting, stop reading,
 * store everything received in Redis (or the spool), close connections, then
 * the Redis connection and spool. Idempotent.
 */
export class IngestServer implements AsyncDisposable {
  readonly metrics: IngestMetrics;
  readonly #listener: Server;
  readonly #writer: BatchWriter;
  readonly #store: BatchStore;
  readonly #spool: Spool | undefined;
  readonly #rejectLog: LogBudget;
  readonly #log: Logger;
  readonly #drainMs: number;
  #closing: Promise<void> | undefined;

  /** @internal Use {@linkcode startIngest}. */
  constructor(parts: {
    metrics: IngestMetrics;
    listener: Server;
    writer: BatchWriter;
    store: BatchStore;
    spool: Spool | undefined;
    rejectLog: LogBudget;
    logger: Logger;
    drainMs: number;
  }) {
    this.metrics = parts.metrics;
    this.#listener = parts.listener;
    this.#writer = parts.writer;
    this.#store = parts.store;
    this.#spool = parts.spool;
    this.#rejectLog = parts.rejectLog;
    this.#log = parts.logger;
    this.#drainMs = parts.drainMs;
  }

  /** The bound port. */
  get port(): number {
    return this.#listener.port;
  }

  /** The TLS listener (for reloading its certificates). */
  get listener(): Server {
    return this.#listener;
  }

  /** Ready while Redis is reachable, or while the spool takes what it cannot. */
  ready(): Readiness {
    if (this.#writer.live) return { ready: true, detail: `redis ${this.#store.label} reachable` };
    if (this.#spool) {
      return { ready: true, detail: `redis ${this.#store.label} unreachable: spooling to disk` };
    }
    return {
      ready: false,
      detail: `redis ${this.#store.label} unreachable and no spool: batches wait in memory`,
    };
  }

  /** The batch writer's queue: depth, paused input, live or spooling. */
  get writer(): WriterState {
    return this.#writer;
  }

  /** The Redis target, for logs. */
  get redisLabel(): string {
    return this.#store.label;
  }

  /** Graceful drain, then close. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      const t0 = Date.now();
      await this.#listener.stopAccepting();
      await this.#listener.close();
      this.#rejectLog.close(); // the sessions are done: tell what they left out of the log
      await this.#writer.close(Math.max(1000, this.#drainMs - (Date.now() - t0)));
      await this.#store.close();
      await this.#spool?.close();
      this.#log.info("ingest drained", {
        received: this.metrics.objectsReceived,
        stored: this.metrics.objectsStored,
        spooled: this.metrics.objectsSpooled,
        spool_records: this.#spool?.records ?? 0,
      });
    })();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

function markerPrefix(streamKey: string): string {
  // Same cluster slot as the stream key, so a batch and its marker share a MULTI.
  return streamKey.includes("{") ? `${streamKey}:applied:` : `{${streamKey}}:applied:`;
}

/**
 * Starts the ingest server: a mutual-TLS listener whose clients send JSON
 * objects (back to back or whitespace-separated), stored in Redis in
 * pipelined batches, spooled to disk while Redis is away.
 *
 * @example
 * ```ts
 * await using server = await startIngest({ port: 0, tls, redisUrl: "redis://127.0.0.1:6379" });
 * ```
 */
export async function startIngest(options: IngestOptions): Promise<IngestServer> {
  const log = options.logger ?? nullLogger;
  const metrics = new IngestMetrics();
  const layout = options.layout ?? "kv";
  const keyPrefix = options.keyPrefix ?? "";
  const streamKey = keyPrefix + (options.streamKey ?? "ingest");
  const store: BatchStore = options.redisCluster && options.redisCluster.length > 0
    ? new ClusterStore(options.redisCluster)
    : new ThreadedRespStore(
      options.redisUrl ?? "redis://127.0.0.1:6379",
      options.db !== undefined ? { db: options.db } : {},
    );
  try {
    await store.connect();
  } catch (err) {
    log.warn("Redis is not reachable yet: objects will be spooled until it is", {
      redis: store.label,
      error: (err as Error).message,
    });
  }
  let spool: Spool | undefined;
  // One for all connections: a client reconnecting in a loop is bounded too.
  const rejectLog = rejectBudget(log);
  try {
    if (options.spoolDir !== undefined) {
      spool = await Spool.open(options.spoolDir, {
        logger: log,
        ...(options.spoolMax !== undefined ? { maxBytes: options.spoolMax } : {}),
      });
      if (!spool.empty) {
        log.info("spool holds batches from an earlier run: replaying them first", {
          spool: spool.dir,
          records: spool.records,
        });
      }
    }
    const writer = new BatchWriter({
      store,
      metrics,
      logger: log,
      ...(spool ? { spool } : {}),
      ...(options.maxBatch !== undefined ? { maxBatch: options.maxBatch } : {}),
      ...(options.highWater !== undefined ? { highWater: options.highWater } : {}),
      ...(options.maxInflight !== undefined ? { maxInflight: options.maxInflight } : {}),
      ...(layout === "stream" ? { markerPrefix: markerPrefix(streamKey) } : {}),
    });
    const sessionOptions = {
      writer,
      layout,
      keyPrefix,
      streamKey,
      ack: options.ack ?? false,
      maxPayload: options.maxPayload ?? 1024 * 1024,
      metrics,
      logger: log,
      rejectLog,
      ...(options.streamMaxlen !== undefined ? { streamMaxlen: options.streamMaxlen } : {}),
    };
    const drainMs = options.drainTimeoutMs ?? 30_000;
    const net = options.daemonMetrics
      ? new NetMetrics(options.daemonMetrics, {
        framesIn: () => metrics.objectsReceived + metrics.objectsRejected,
      })
      : undefined;
    if (options.daemonMetrics) metrics.register(options.daemonMetrics);
    const session = (conn: Connection, signal: AbortSignal) =>
      new IngestSession(conn, sessionOptions).run(signal);
    const listener = await listen({
      host: options.host ?? "0.0.0.0",
      port: options.port ?? 1191,
      tls: options.tls,
      requireClientCert: true,
      tlsMaxVersion: options.tlsMaxVersion ?? "TLSv1.2",
      ...(options.authorize ? { authorize: options.authorize } : {}),
      ...perAddressCap(options.maxPerAddress, options.ipv6Prefix),
      onRefused: (peer, reason) => {
        metrics.connectionsRefused++;
        net?.onRefused(peer, reason);
      },
      logger: log,
      graceMs: drainMs,
      // A client that half-closes after its last object still reads the final `{"ok":N}`.
      policy: { allowHalfOpen: true },
    }, net ? net.wrap(session) : session);
    return new IngestServer({
      metrics,
      listener,
      writer,
      store,
      spool,
      rejectLog,
      logger: log,
      drainMs,
    });
  } catch (err) {
    rejectLog.close();
    await store.close();
    await spool?.close();
    throw err;
  }
}
