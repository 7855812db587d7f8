/**
 * A pool of search Web Workers, so that reread scans and index builds never
 * run on the thread that accepts connections. Each request goes to the
 * worker with the fewest requests in flight.
 */
import type { WorkerReply, WorkerRequest } from "./_worker_protocol.ts";
import { type FileVersion, SearchFileError } from "./file_bytes.ts";
import { LineTable } from "./line_table.ts";

/** Options for {@linkcode SearchWorkerPool}. */
export interface SearchWorkerPoolOptions {
  /** Number of workers. Default: `navigator.hardwareConcurrency` (at least 1, at most 8). */
  size?: number;
}

/** An index built by a worker, with the file version it was built from. */
export interface BuiltIndex {
  table: LineTable;
  version: FileVersion;
}

interface Pending {
  resolve: (reply: WorkerReply) => void;
  reject: (err: Error) => void;
}

interface Slot {
  worker: Worker;
  pending: Map<number, Pending>;
  /** Scan batches in flight on this worker (at most {@linkcode SCANS_IN_FLIGHT}). */
  scanning: number;
}

interface QueuedScan {
  path: string;
  query: Uint8Array;
  resolve: (found: boolean) => void;
  reject: (err: Error) => void;
}

/** Most queries answered from one read of the file. */
const MAX_BATCH = 32;
/** Batches queued per worker: the next one waits in the worker while one runs. */
const SCANS_IN_FLIGHT = 2;

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
  #nextId = 1;
  #closed = false;

  constructor(options: SearchWorkerPoolOptions = {}) {
    const size = options.size ?? defaultPoolSize();
    if (!Number.isInteger(size) || size < 1) {
      throw new RangeError(`Invalid worker pool size: expected an integer >= 1, got ${size}`);
    }
    for (let i = 0; i < size; i++) this.#slots.push(this.#spawn());
  }

  /** Number of workers. */
  get size(): number {
    return this.#slots.length;
  }

  #spawn(): Slot {
    const worker = new Worker(new URL("./search_worker.ts", import.meta.url), { type: "module" });
    const slot: Slot = { worker, pending: new Map(), scanning: 0 };
    worker.onmessage = (e: MessageEvent<WorkerReply>) => {
      const p = slot.pending.get(e.data.id);
      if (!p) return;
      slot.pending.delete(e.data.id);
      p.resolve(e.data);
    };
    worker.onerror = (e: ErrorEvent) => {
      e.preventDefault();
      const err = new Error(`Search worker crashed: ${e.message}`);
      for (const p of slot.pending.values()) p.reject(err);
      slot.pending.clear();
      worker.terminate();
      const i = this.#slots.indexOf(slot);
      if (i >= 0 && !this.#closed) this.#slots[i] = this.#spawn();
    };
    return slot;
  }

  #request(make: (id: number) => WorkerRequest, slot?: Slot): Promise<WorkerReply> {
    if (this.#closed) return Promise.reject(new Error("Search worker pool is closed"));
    let best = slot ?? this.#slots[0]!;
    if (!slot) { for (const s of this.#slots) if (s.pending.size < best.pending.size) best = s; }
    const id = this.#nextId++;
    const req = make(id);
    return new Promise((resolve, reject) => {
      best.pending.set(id, { resolve, reject });
      best.worker.postMessage(req);
    });
  }

  /**
   * Rereads `path` in a worker and reports whether `query` is one of its
   * lines. Queries that arrive while every worker is busy are answered
   * together from the worker's next read of the file (one read, one scan
   * each): every answer still comes from a read that started after its
   * query arrived.
   */
  scan(path: string, query: Uint8Array): Promise<boolean> {
    if (this.#closed) return Promise.reject(new Error("Search worker pool is closed"));
    return new Promise((resolve, reject) => {
      this.#scanQueue.push({ path, query: query.slice(), resolve, reject });
      this.#pumpScans();
    });
  }

  readonly #scanQueue: QueuedScan[] = [];

  #pumpScans(): void {
    const queue = this.#scanQueue;
    while (queue.length > 0 && !this.#closed) {
      let slot: Slot | undefined;
      for (const s of this.#slots) {
        if (s.scanning < SCANS_IN_FLIGHT && (!slot || s.scanning < slot.scanning)) slot = s;
      }
      if (!slot) return;
      const path = queue[0]!.path;
      let n = 1;
      while (n < queue.length && n < MAX_BATCH && queue[n]!.path === path) n++;
      const batch = queue.splice(0, n);
      const busy = slot;
      busy.scanning++;
      const done = () => {
        busy.scanning--;
        this.#pumpScans();
      };
      this.#request(
        (id) => ({ kind: "scan", id, path, queries: batch.map((b) => b.query) }),
        busy,
      ).then((reply) => {
        if (reply.kind === "scannedAll") batch.forEach((b, i) => b.resolve(reply.found[i]!));
        else {
          const err = toError(reply);
          for (const b of batch) b.reject(err);
        }
        done();
      }, (err: Error) => {
        for (const b of batch) b.reject(err);
        done();
      });
    }
  }

  /**
   * Looks `query` up in an index of `path` that the worker keeps (built on
   * first use, never refreshed): the worker-round-trip variant of an index
   * lookup, measured by `search bench`.
   */
  async lookup(path: string, query: Uint8Array): Promise<boolean> {
    const reply = await this.#request((id) => ({ kind: "lookup", id, path, query }));
    if (reply.kind === "scanned") return reply.found;
    throw toError(reply);
  }

  /** Reads `path` in a worker and builds its line index there. */
  async build(path: string): Promise<BuiltIndex> {
    const reply = await this.#request((id) => ({ kind: "build", id, path }));
    if (reply.kind === "built") return { table: new LineTable(reply.data), version: reply.version };
    throw toError(reply);
  }

  /** Terminates every worker; requests in flight fail. Idempotent. */
  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    const err = new Error("Search worker pool is closed");
    for (const q of this.#scanQueue.splice(0)) q.reject(err);
    for (const s of this.#slots) {
      s.worker.terminate();
      for (const p of s.pending.values()) p.reject(err);
      s.pending.clear();
    }
    return Promise.resolve();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

function toError(reply: WorkerReply): Error {
  if (reply.kind !== "failed") return new Error(`Unexpected search worker reply "${reply.kind}"`);
  const prefix = `Cannot read search file "${reply.path}": `;
  const detail = reply.message.startsWith(prefix)
    ? reply.message.slice(prefix.length)
    : reply.message;
  return new SearchFileError(reply.path, reply.problem, detail);
}
