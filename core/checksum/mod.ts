/**
 * Checksums for the append-only record files on disk (the broker's journals
 * and queues, ingest's spool).
 *
 * @module
 */
export * from "./crc32.ts";
