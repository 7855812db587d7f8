/**
 * A pool of search Web Workers, so that reread scans and index builds never
 * run on the thread that accepts connections. Each request goes to the
 * worker with the fewest requests in flight.
 */
import { webWorker, type WireError, WorkerClient } from "../worker/mod.ts";
import { type FileProblem, type FileVersion, SearchFileError } from "./file_bytes.ts";
import type { ScanOutcome } from "./chunked_scan.ts";
import type { searchWorkerMethods } from "./search_worker.ts";
import { LineTable } from "./line_table.ts";
import { scanInParts } from "./_split_scan.ts";

/** Options for {@linkcode SearchWorkerPool}. */
export interface SearchWorkerPoolOptions {
  /** Number of workers. Default: `navigator.hardwareConcurrency` (at least 1, at most 8). */
  size?: number;
  /** Files from this size are split over the workers (see {@linkcode SPLIT_FROM_BYTES}, the default). */
  splitFromBytes?: number;
}

/** An index built by a worker, with the file version it was built from. */
export interface BuiltIndex {
  table: LineTable;
  version: FileVersion;
}

type Methods = typeof searchWorkerMethods;

interface Slot {
  worker: WorkerClient<Methods>;
  /** Scan batches in flight on this worker (at most {@linkcode SCANS_IN_FLIGHT}). */
  scanning: number;
}

/** Options for {@linkcode SearchWorkerPool.scan}. */
export interface ScanOptions {
  /**
   * Who asks (a connection, say): the queries of different clients waiting
   * for a read take turns in its batch. Default: one client shared by every
   * call without this option.
   */
  client?: object;
}

interface QueuedScan {
  path: string;
  query: Uint8Array;
  resolve: (found: boolean) => void;
  reject: (err: Error) => void;
}

/** The scans one client waits for, oldest first from `head`. */
interface ClientScans {
  items: QueuedScan[];
  head: number;
}

const SHARED_CLIENT = {};

/** Most queries answered from one read of the file. */
const MAX_BATCH = 256;
/**
 * Batches per worker at a time: one, so that queries arriving while a read
 * runs all wait for the next read together (a read with its one-pass check
 * costs about the same for 4 queries as for 256).
 */
const SCANS_IN_FLIGHT = 1;
/**
 * Files from this size (as last read) are split into one byte range per
 * worker, so that one query's read and scan run on every core at once.
 */
export const SPLIT_FROM_BYTES = 2 * 1024 * 1024;

/** Default pool size: the number of CPUs, from 1 to 8. */
export function defaultPoolSize(): number {
  return Math.max(1, Math.min(8, navigator.hardwareConcurrency || 1));
}

/**
 * Runs scans and index builds on a fixed set of workers. A crashed worker is
 * replaced and its requests fail with the crash message.
 *
 * @example
 * ```ts
 * await using pool = new SearchWorkerPool({ size: 2 });
 * const found = await pool.scan("words.txt", new TextEncoder().encode("apple"));
 * ```
 */
export class SearchWorkerPool implements AsyncDisposable {
  readonly #slots: Slot[] = [];
  readonly #splitFrom: number;
  #closed = false;

  constructor(options: SearchWorkerPoolOptions = {}) {
    const size = options.size ?? defaultPoolSize();
    if (!Number.isInteger(size) || size < 1) {
      throw new RangeError(`Invalid worker pool size: expected an integer >= 1, got ${size}`);
    }
    this.#splitFrom = options.splitFromBytes ?? SPLIT_FROM_BYTES;
    for (let i = 0; i < size; i++) this.#slots.push(this.#spawn());
  }

  /** Number of workers. */
  get size(): number {
    return this.#slots.length;
  }

  #spawn(): Slot {
    const worker = new WorkerClient<Methods>(
      () => webWorker(new URL("./search_worker.ts", import.meta.url)),
      { name: "Search worker", reviveError },
    );
    return { worker, scanning: 0 };
  }

  /** The worker with the fewest calls in flight. */
  #leastBusy(): Slot {
    let best = this.#slots[0]!;
    for (const s of this.#slots) if (s.worker.inFlight < best.worker.inFlight) best = s;
    return best;
  }

  /**
   * Rereads `path` in a worker and reports whether `query` is one of its
   * lines. Queries that arrive while the workers are busy are answered
   * together from the next read of the file (one read, and from
   * `BATCH_FROM` queries one pass checking them all): every
   * answer still comes from a read that started after its query arrived.
   * A batch takes the waiting queries round-robin by `options.client`, one
   * of each client in turn (each client's in the order asked), so one
   * client's backlog does not keep another's query waiting for several reads.
   * A file of {@linkcode SPLIT_FROM_BYTES} or more is read by all workers
   * at once, each a byte range.
   */
  scan(path: string, query: Uint8Array, options: ScanOptions = {}): Promise<boolean> {
    if (this.#closed) return Promise.reject(new Error("Search worker pool is closed"));
    return new Promise((resolve, reject) => {
      const client = options.client ?? SHARED_CLIENT;
      let scans = this.#waiting.get(client);
      if (scans === undefined) {
        scans = { items: [], head: 0 };
        this.#waiting.set(client, scans);
      }
      scans.items.push({ path, query: query.slice(), resolve, reject });
      this.#pumpScans();
    });
  }

  /** Waiting scans per client, in turn order (the next to be served first). */
  readonly #waiting = new Map<object, ClientScans>();

  /**
   * Up to {@linkcode MAX_BATCH} waiting scans of the path that the client
   * first in turn waits for: one of each client waiting for that path per
   * round. A client served goes to the back of the turn order.
   */
  #takeBatch(path: string): QueuedScan[] {
    const batch: QueuedScan[] = [];
    let took = true;
    while (took && batch.length < MAX_BATCH) {
      took = false;
      for (const [client, scans] of [...this.#waiting]) {
        if (batch.length === MAX_BATCH) break;
        const next = scans.items[scans.head]!;
        if (next.path !== path) continue;
        batch.push(next);
        took = true;
        this.#waiting.delete(client);
        if (++scans.head < scans.items.length) {
          if (scans.head >= 1024) {
            scans.items = scans.items.slice(scans.head);
            scans.head = 0;
          }
          this.#waiting.set(client, scans);
        }
      }
    }
    return batch;
  }

  /** Last size read of each scanned file: whether the next read is split over the workers. */
  readonly #sizes = new Map<string, number>();

  #pumpScans(): void {
    while (this.#waiting.size > 0 && !this.#closed) {
      const first = this.#waiting.values().next().value!;
      const path = first.items[first.head]!.path;
      let slots = this.#slots;
      if (slots.length === 1 || (this.#sizes.get(path) ?? -1) < this.#splitFrom) {
        let slot = slots[0]!;
        for (const s of slots) if (s.scanning < slot.scanning) slot = s;
        slots = [slot];
      }
      if (slots.some((s) => s.scanning >= SCANS_IN_FLIGHT)) return;
      const batch = this.#takeBatch(path);
      for (const s of slots) s.scanning++;
      void this.#scanBatch(path, batch, slots).finally(() => {
        for (const s of slots) s.scanning--;
        this.#pumpScans();
      });
    }
  }

  /**
   * Answers `batch` from one read of `path`: by one worker, or split into one
   * part per worker of `slots` (a query found by one part is no longer looked
   * for by the others). When the parts read different versions of the file
   * (it changed between their opens), one worker reads it again whole
   * (`scanInParts` in `_split_scan.ts`).
   */
  async #scanBatch(path: string, batch: QueuedScan[], slots: Slot[]): Promise<void> {
    const queries = batch.map((b) => b.query);
    const whole = () => slots[0]!.worker.call("scan", { path, queries });
    try {
      let outcome: ScanOutcome;
      if (slots.length === 1) {
        outcome = await whole();
      } else {
        const of = slots.length;
        const flags = new Int32Array(new SharedArrayBuffer(4 * queries.length));
        outcome = await scanInParts(of, {
          part: (index) =>
            slots[index]!.worker.call("scan", { path, queries, part: { index, of, flags } }),
          whole,
        });
      }
      this.#sizes.set(path, outcome.version.size);
      batch.forEach((b, i) => b.resolve(outcome.found[i]!));
    } catch (err) {
      for (const b of batch) b.reject(err as Error);
    }
  }

  /**
   * Looks `query` up in an index of `path` that the worker keeps (built on
   * first use, never refreshed): the worker-round-trip variant of an index
   * lookup, measured by `search bench`.
   */
  lookup(path: string, query: Uint8Array): Promise<boolean> {
    if (this.#closed) return Promise.reject(new Error("Search worker pool is closed"));
    return this.#leastBusy().worker.call("lookup", { path, query });
  }

  /** Reads `path` in a worker and builds its line index there. */
  async build(path: string): Promise<BuiltIndex> {
    if (this.#closed) throw new Error("Search worker pool is closed");
    const { data, version } = await this.#leastBusy().worker.call("build", { path });
    return { table: new LineTable(data), version };
  }

  /** Terminates every worker; requests in flight fail. Idempotent. */
  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    const err = new Error("Search worker pool is closed");
    for (const scans of this.#waiting.values()) {
      for (const q of scans.items.slice(scans.head)) q.reject(err);
    }
    this.#waiting.clear();
    return Promise.all(this.#slots.map((s) => s.worker.close())).then(() => {});
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** Rebuilds a worker's `SearchFileError` (path and problem included); other errors as they are. */
function reviveError(e: WireError): Error {
  const path = e.details?.path;
  const problem = e.details?.problem;
  if (e.name !== "SearchFileError" || typeof path !== "string") return new Error(e.message);
  const prefix = `Cannot read search file "${path}": `;
  const detail = e.message.startsWith(prefix) ? e.message.slice(prefix.length) : e.message;
  return new SearchFileError(path, problem as FileProblem, detail);
}
