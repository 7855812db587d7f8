/**
 * Durable storage: the one append-only record log (segments, group commit,
 * sync markers to resynchronise past a damaged record, a cap that refuses and
 * never drops, a full disk treated as full) used by the broker's journals and
 * type queues and by ingest's spool, and its pure record parser.
 *
 * @module
 */
export * from "./errors.ts";
export * from "./record_format.ts";
export * from "./record_log.ts";
