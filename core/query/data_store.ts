/**
 * The handler's data, kept current: a data worker loads every file of the
 * spec, watches them, and reloads a file when it changes; a file that fails
 * to parse keeps its last good data and the failure is logged.
 */
import { type Logger, nullLogger } from "../log/mod.ts";
import { webWorker, WorkerClient } from "../worker/mod.ts";
import type { DataEvents } from "./data_messages.ts";
import type { dataWorkerMethods } from "./data_worker.ts";
import type { DataSpec } from "./spec.ts";

/** Options for {@linkcode DataStore}. */
export interface DataStoreOptions {
  /** Quiet time after a change before the file is re-read, ms. Default 50. */
  debounceMs?: number;
  /**
   * At most one stat check of every file per this many ms, triggered by
   * {@linkcode DataStore.check} (catches changes a watcher misses). Default 500.
   */
  checkIntervalMs?: number;
  /** Logger for reloads and failures. Default: silent. */
  logger?: Logger;
}

/** Called with a file's name and its new data after each successful (re)load. */
export type DataListener = (name: string, data: unknown) => void;

/**
 * Current data of every file, keyed by file name, with change
 * notifications. Start it with {@linkcode DataStore.start}; the first load
 * of every file must succeed.
 *
 * @example
 * ```ts
 * await using store = new DataStore(await loadDataSpec("spec.json"));
 * await store.start();
 * store.onChange((name, data) => pool.setData(name, data));
 * ```
 */
export class DataStore implements AsyncDisposable {
  readonly #spec: DataSpec;
  readonly #options: DataStoreOptions;
  readonly #log: Logger;
  readonly #data: Record<string, unknown> = {};
  readonly #listeners = new Set<DataListener>();
  #worker: WorkerClient<typeof dataWorkerMethods> | undefined;
  #lastCheck = 0;
  #version = 0;
  #closed = false;

  constructor(spec: DataSpec, options: DataStoreOptions = {}) {
    this.#spec = spec;
    this.#options = options;
    this.#log = options.logger ?? nullLogger;
  }

  /** Current data keyed by file name (replaced per file on reload). */
  get data(): Readonly<Record<string, unknown>> {
    return this.#data;
  }

  /** Increases with every successful load. */
  get version(): number {
    return this.#version;
  }

  /** Registers a listener for successful reloads; returns a function that removes it. */
  onChange(listener: DataListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Starts the data worker and resolves once every file has loaded. Rejects
   * (and stops the worker) when a file cannot be loaded at start.
   */
  async start(): Promise<void> {
    if (this.#worker) throw new Error("DataStore already started");
    const worker = new WorkerClient<typeof dataWorkerMethods>(
      () => webWorker(new URL("./data_worker.ts", import.meta.url)),
      {
        name: "Data worker",
        respawn: false,
        onEvent: (name, data) => this.#onEvent(name as keyof DataEvents, data),
        onCrash: (err) => this.#log.error(err.message),
      },
    );
    this.#worker = worker;
    let failures: string[];
    try {
      failures = await worker.call("start", {
        files: this.#spec.files,
        debounceMs: this.#options.debounceMs ?? 50,
      });
    } catch (err) {
      this.#stop();
      throw err;
    }
    if (failures.length > 0) {
      this.#stop();
      throw new Error(failures.join("; "));
    }
    this.#lastCheck = performance.now();
  }

  #onEvent<K extends keyof DataEvents>(name: K, event: unknown): void {
    if (name === "loaded") {
      const m = event as DataEvents["loaded"];
      this.#data[m.name] = m.data;
      this.#version++;
      if (!m.initial) this.#log.info("reloaded data file", { file: m.path, name: m.name });
      for (const l of this.#listeners) l(m.name, m.data);
    } else if (name === "failed") {
      const m = event as DataEvents["failed"];
      this.#log.error("data file reload failed; keeping the last good data", {
        file: m.path,
        name: m.name,
        error: m.error,
      });
    } else if (name === "watchError") {
      const m = event as DataEvents["watchError"];
      this.#log.warn("cannot watch data files; relying on stat checks", { error: m.error });
    }
  }

  /**
   * Asks for a stat check of every file, at most once per `checkIntervalMs`.
   * Cheap to call before every use; it never waits.
   */
  check(): void {
    const now = performance.now();
    if (now - this.#lastCheck < (this.#options.checkIntervalMs ?? 500)) return;
    this.#lastCheck = now;
    this.#worker?.post("check", undefined);
  }

  #stop(): void {
    void this.#worker?.close();
    this.#worker = undefined;
  }

  /** Stops watching. Idempotent. */
  close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.#stop();
      this.#listeners.clear();
    }
    return Promise.resolve();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
