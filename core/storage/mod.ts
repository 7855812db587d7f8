/**
 * Durable storage: the one append-only record log used by the broker's
 * journals and type queues and by ingest's spool, its pure record parser,
 * and the one atomic write of a small file.
 *
 * - {@linkcode RecordLog} (`record_log.ts`) is the face: cap, appends, reads
 *   from a cursor, consumption from the front, close.
 * - Internals, one concept each: `_segment.ts` (segment files),
 *   `_group_commit.ts` (appends written together with one `fdatasync`),
 *   `_fsync_gate.ts` (whether that `fdatasync` runs on the event loop or off
 *   it), `_recover.ts` (opening: sync markers resynchronise past a
 *   damaged record, a torn tail is cut), `_read_records.ts` (reads from a
 *   cursor), `_head_file.ts` (the consumed front kept across restarts).
 * - `record_format.ts`: the checksummed record format and its parser;
 *   `errors.ts`: a cap that refuses and never drops, a full disk treated as full.
 * - `dir_lock.ts`: one process per state directory; `flock_holder.ts`: who
 *   holds a lock (for its error), also used by `core/pki`'s writers' lock.
 * - `atomic_file.ts`: a small file replaced whole (temporary file, rename;
 *   durable on request), used by the record log's head file, the broker's
 *   state files and the certificate files, and its leftovers removed at open.
 *
 * @module
 */
export * from "./atomic_file.ts";
export * from "./dir_lock.ts";
export * from "./errors.ts";
export * from "./flock_holder.ts";
export * from "./record_format.ts";
export * from "./record_log_options.ts";
export * from "./record_log.ts";
