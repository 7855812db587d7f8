import { join } from "node:path";
import type { Logger } from "../log/mod.ts";
import { nullLogger } from "../log/mod.ts";
import {
  type DirectoryLock,
  lockDirectorySync,
  type LogCursor,
  parseLegacyRecords,
  RecordLog,
  StorageFullError,
} from "../storage/mod.ts";
import type { StoreBatch } from "./_store.ts";

/** One spooled batch: a `StoreBatch` as written to disk. */
export type SpoolRecord = StoreBatch;

/** Options for {@linkcode Spool.open}. */
export interface SpoolOptions {
  /** Upper bound of the spool's size on disk, bytes. Default 1 GiB. */
  maxBytes?: number;
  /** Segment file size before rotating, bytes. Default min(64 MiB, maxBytes / 4). */
  segmentBytes?: number;
  /** `fdatasync` each group commit (durable before acknowledging). Default `true`. */
  sync?: boolean;
  /** Logs corrupt records. Default: silent. */
  logger?: Logger;
}

/**
 * The spool has no room for a record (its cap, or a full disk); the caller
 * keeps the record and stops reading input until there is room again.
 */
export class SpoolFullError extends Error {
  override name = "SpoolFullError";
}

const OLD_SEGMENT = /^(\d{10})\.spool$/;

/**
 * An append-only disk spool of batches, kept while Redis is unreachable, on
 * the shared record log (`core/storage`): {@linkcode Spool.peek} and
 * {@linkcode Spool.commit} hand records out in write order, and segments are
 * deleted once every record in them is committed. A damaged record costs
 * only itself and is logged. The size is capped and a full disk counts as
 * full: {@linkcode Spool.append} throws {@linkcode SpoolFullError} and the
 * record stays with the caller (unless forced past the cap, for a shutdown).
 */
export class Spool implements AsyncDisposable {
  readonly dir: string;
  readonly #log: RecordLog;
  #readQueue: SpoolRecord[] = [];
  #cursor: LogCursor;

  /** This process's hold on the directory (one spool per directory). */
  readonly #lock: DirectoryLock;

  private constructor(dir: string, log: RecordLog, lock: DirectoryLock) {
    this.dir = dir;
    this.#log = log;
    this.#lock = lock;
    this.#cursor = log.start;
  }

  /**
   * Opens (creating it if needed) the spool in `dir` and finds records left by
   * an earlier run, which are replayed first (also those of the older
   * `*.spool` format, moved into the log).
   */
  static async open(dir: string, options: SpoolOptions = {}): Promise<Spool> {
    const logger = options.logger ?? nullLogger;
    // a second daemon on the same spool stops here, before it reads or writes a record
    const lock = lockDirectorySync(dir, "ingest spool directory");
    try {
      return await Spool.#openLocked(dir, options, logger, lock);
    } catch (err) {
      lock.release();
      throw err;
    }
  }

  static async #openLocked(
    dir: string,
    options: SpoolOptions,
    logger: Logger,
    lock: DirectoryLock,
  ): Promise<Spool> {
    const log = await RecordLog.open(dir, {
      name: `spool "${dir}"`,
      ...(options.maxBytes !== undefined ? { maxBytes: options.maxBytes } : {}),
      ...(options.segmentBytes !== undefined ? { segmentBytes: options.segmentBytes } : {}),
      fsync: options.sync ?? true,
      onDamage: (d) =>
        logger.warn(
          d.kind === "torn"
            ? "spool tail torn by a crash: cut off"
            : "spool record is corrupt: skipped",
          { file: d.file, offset: d.offset, bytes: d.bytes, reason: d.reason },
        ),
    });
    await importOldSegments(dir, log, logger);
    return new Spool(dir, log, lock);
  }

  /** Bytes on disk. */
  get bytes(): number {
    return this.#log.bytes;
  }

  /** Records not yet committed. */
  get records(): number {
    return this.#log.count;
  }

  /** Whether every record has been committed. */
  get empty(): boolean {
    return this.#log.count === 0;
  }

  /**
   * Appends a record durably (with `sync`). Throws {@linkcode SpoolFullError}
   * when it would exceed `maxBytes` (unless `force`) or the disk is full.
   */
  async append(record: SpoolRecord, force = false): Promise<void> {
    const payload = new TextEncoder().encode(
      JSON.stringify({ ...record, wire: Buffer.from(record.wire).toString("base64") }),
    );
    try {
      await this.#log.append(payload, { force });
    } catch (err) {
      if (err instanceof StorageFullError) {
        throw new SpoolFullError(
          err.reason === "disk"
            ? `Spool "${this.dir}" is full: the disk has no space left (free disk space)`
            : `Spool "${this.dir}" is full: ${this.bytes} of ${this.#log.maxBytes} bytes used`,
          { cause: err },
        );
      }
      throw err;
    }
  }

  /** The oldest uncommitted record, or `undefined` when the spool is empty. */
  async peek(): Promise<SpoolRecord | undefined> {
    if (this.#readQueue.length === 0) {
      if (this.#log.durableCount === 0) return undefined;
      const { records, next } = await this.#log.read(this.#cursor, 4 * 1024 * 1024);
      this.#cursor = next;
      this.#readQueue = records.map(decode);
    }
    return this.#readQueue[0];
  }

  /** Marks the record returned by {@linkcode Spool.peek} as stored; frees its segment when done. */
  commit(): Promise<void> {
    if (this.#readQueue.shift() !== undefined) this.#log.consume(1);
    return Promise.resolve();
  }

  /** Writes what is pending and closes the log. Records stay on disk for the next run. Idempotent. */
  close(): Promise<void> {
    return this.#log.close().finally(() => this.#lock.release());
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

function decode(payload: Uint8Array): SpoolRecord {
  const r = JSON.parse(new TextDecoder().decode(payload)) as Omit<SpoolRecord, "wire"> & {
    wire: string;
  };
  return { ...r, wire: new Uint8Array(Buffer.from(r.wire, "base64")) };
}

/** Moves records of the older spool format (`*.spool` files) into the log. */
async function importOldSegments(dir: string, log: RecordLog, logger: Logger): Promise<void> {
  const old: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    if (e.isFile && OLD_SEGMENT.test(e.name)) old.push(e.name);
  }
  old.sort();
  for (const name of old) {
    const path = join(dir, name);
    const { payloads, error } = parseLegacyRecords(await Deno.readFile(path));
    if (error) logger.warn("old spool segment ends in a damaged record", { file: path, error });
    for (const p of payloads) log.append(p.slice(), { force: true });
    await log.flush();
    await Deno.remove(path);
  }
}
