/** The ingest counters and gauges, exported as Prometheus text on `/metrics`. */
export class IngestMetrics {
  /** Client connections accepted since start. */
  connectionsTotal = 0;
  /** Client connections open now. */
  connectionsOpen = 0;
  /** Clients refused (plain TCP, unknown, expired or revoked certificate). */
  connectionsRefused = 0;
  /** JSON objects received and accepted. */
  objectsReceived = 0;
  /** Objects written to Redis (live or replayed). */
  objectsStored = 0;
  /** Top-level values rejected (not an object, malformed, too large). */
  objectsRejected = 0;
  /** Objects written to the disk spool. */
  objectsSpooled = 0;
  /** Objects replayed from the spool into Redis. */
  objectsReplayed = 0;
  /** Objects whose write Redis refused (`WRONGTYPE`, ...). */
  objectsFailed = 0;
  /** Redis errors: lost connections, failed connects, refused commands. */
  redisErrors = 0;
  /** Batches written to Redis. */
  batches = 0;
  /** Objects waiting in memory for Redis or the spool (gauge; read live from the writer once it is attached). */
  queued = 0;
  /** The live source of {@linkcode IngestMetrics.queued}, set by the writer. */
  queuedSource: (() => number) | undefined;
  /** Records waiting in the spool (gauge). */
  spoolRecords = 0;
  /** Bytes in the spool (gauge). */
  spoolBytes = 0;

  /**
   * Renders the Prometheus text exposition format (version 0.0.4).
   *
   * @example
   * ```ts
   * new IngestMetrics().render(); // "# HELP sockkit_ingest_connections_total ..."
   * ```
   */
  render(): string {
    const rows: Array<[string, "counter" | "gauge", string, number]> = [
      ["connections_total", "counter", "Client connections accepted", this.connectionsTotal],
      ["connections_open", "gauge", "Client connections open now", this.connectionsOpen],
      ["connections_refused_total", "counter", "Clients refused", this.connectionsRefused],
      ["objects_received_total", "counter", "JSON objects accepted", this.objectsReceived],
      ["objects_stored_total", "counter", "Objects written to Redis", this.objectsStored],
      ["objects_rejected_total", "counter", "Values rejected as bad input", this.objectsRejected],
      [
        "objects_spooled_total",
        "counter",
        "Objects written to the disk spool",
        this.objectsSpooled,
      ],
      [
        "objects_replayed_total",
        "counter",
        "Objects replayed from the spool",
        this.objectsReplayed,
      ],
      ["objects_failed_total", "counter", "Objects whose write Redis refused", this.objectsFailed],
      ["redis_errors_total", "counter", "Redis connection and command errors", this.redisErrors],
      ["batches_total", "counter", "Batches written to Redis", this.batches],
      [
        "queued_objects",
        "gauge",
        "Objects waiting in memory",
        this.queuedSource?.() ?? this.queued,
      ],
      ["spool_records", "gauge", "Batches waiting in the spool", this.spoolRecords],
      ["spool_bytes", "gauge", "Bytes in the spool", this.spoolBytes],
    ];
    let out = "";
    for (const [name, type, help, value] of rows) {
      const full = `sockkit_ingest_${name}`;
      out += `# HELP ${full} ${help}\n# TYPE ${full} ${type}\n${full} ${value}\n`;
    }
    return out;
  }
}

/** Options for {@linkcode serveMetrics}. */
export interface ServeMetricsOptions {
  /** Port; `0` picks a free one. */
  port: number;
  /** Address to bind. Default `"127.0.0.1"`. */
  host?: string;
}

/** A running metrics endpoint. */
export interface MetricsServer extends AsyncDisposable {
  /** The bound port. */
  readonly port: number;
  /** Stops serving. Idempotent. */
  close(): Promise<void>;
}

/** Serves `metrics.render()` as Prometheus text on `GET /metrics` (404 elsewhere). */
export function serveMetrics(metrics: IngestMetrics, options: ServeMetricsOptions): MetricsServer {
  const server = Deno.serve({
    port: options.port,
    hostname: options.host ?? "127.0.0.1",
    onListen: () => {},
  }, (req) => {
    const url = new URL(req.url);
    if (url.pathname !== "/metrics") {
      return new Response("Not found: try /metrics\n", { status: 404 });
    }
    return new Response(metrics.render(), {
      headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" },
    });
  });
  let closing: Promise<void> | undefined;
  const close = () => closing ??= server.shutdown();
  return {
    port: server.addr.port,
    close,
    [Symbol.asyncDispose]: close,
  };
}
