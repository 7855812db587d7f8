import type { DaemonMetrics } from "../metrics/mod.ts";

/** The ingest counters and gauges, served on `/metrics` through {@linkcode IngestMetrics.register}. */
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
  /** Objects waiting in memory for Redis or the spool (gauge, set by the writer). */
  queued = 0;
  /** Records waiting in the spool (gauge). */
  spoolRecords = 0;
  /** Bytes in the spool (gauge). */
  spoolBytes = 0;

  /**
   * Registers the ingest series on a daemon's metrics (read from these
   * fields at each scrape). Connections, bytes and refusals are the shared
   * {@linkcode NetMetrics}; frames received are objects accepted or rejected.
   *
   * @example
   * ```ts
   * const m = new DaemonMetrics("ingest");
   * new IngestMetrics().register(m);
   * await m.render(); // "# HELP sockkit_ingest_objects_received_total ..."
   * ```
   */
  register(m: DaemonMetrics): void {
    const counters: Array<[string, string, () => number]> = [
      ["objects_received_total", "JSON objects accepted", () => this.objectsReceived],
      [
        "objects_stored_total",
        "Objects written to Redis (live or replayed)",
        () => this.objectsStored,
      ],
      ["objects_rejected_total", "Values rejected as bad input", () => this.objectsRejected],
      ["objects_spooled_total", "Objects written to the disk spool", () => this.objectsSpooled],
      ["objects_replayed_total", "Objects replayed from the spool", () => this.objectsReplayed],
      ["objects_failed_total", "Objects whose write Redis refused", () => this.objectsFailed],
      ["redis_errors_total", "Redis connection and command errors", () => this.redisErrors],
      ["batches_total", "Batches written to Redis", () => this.batches],
    ];
    for (const [name, help, read] of counters) m.counterFrom(`ingest_${name}`, help, read);
    m.gauge("ingest_queued_objects", "Objects waiting in memory", [], () => this.queued);
    m.gauge("ingest_spool_records", "Batches waiting in the spool", [], () => this.spoolRecords);
    m.gauge("ingest_spool_bytes", "Bytes in the spool", [], () => this.spoolBytes);
  }
}
