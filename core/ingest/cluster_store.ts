import { createCluster, ErrorReply } from "redis";
import type { Command } from "./layout.ts";
import {
  type BatchStore,
  type CommandFailure,
  MARKER_TTL_SECONDS,
  type StoreBatch,
  StoreUnavailableError,
} from "./store.ts";

/** Options for {@linkcode ClusterStore}. */
export interface ClusterStoreOptions {
  /** Connect timeout per node, ms. Default 2000. */
  connectTimeoutMs?: number;
}

type Cluster = ReturnType<typeof createCluster>;

/**
 * A Redis Cluster through node-redis `createCluster`: each command is routed
 * by its key's slot. A batch whose commands all share one slot (the stream
 * layout) is one `MULTI`/`EXEC` on that slot's node; otherwise the commands
 * are sent pipelined (auto-pipelining per node), in order per key, because a
 * transaction cannot span slots.
 */
export class ClusterStore implements BatchStore {
  readonly label: string;
  readonly #cluster: Cluster;
  #connected = false;
  #connecting: Promise<void> | undefined;
  #closed = false;

  constructor(urls: string[], options: ClusterStoreOptions = {}) {
    if (urls.length === 0) throw new TypeError("Invalid Redis Cluster: no node URLs given");
    this.label = `cluster ${urls.join(",")}`;
    this.#cluster = createCluster({
      rootNodes: urls.map((url) => ({ url })),
      defaults: {
        socket: {
          connectTimeout: options.connectTimeoutMs ?? 2000,
          reconnectStrategy: (retries: number) => retries > 2 ? false : 100,
        },
      },
    });
    this.#cluster.on("error", () => {});
  }

  get connected(): boolean {
    return this.#connected;
  }

  connect(): Promise<void> {
    if (this.#closed) return Promise.reject(new StoreUnavailableError("Redis store is closed"));
    if (this.#connected) return Promise.resolve();
    this.#connecting ??= (async () => {
      try {
        await this.#cluster.connect();
        this.#connected = true;
      } catch (err) {
        throw new StoreUnavailableError(
          `Cannot connect to Redis ${this.label}: ${(err as Error).message}`,
          { cause: err },
        );
      } finally {
        this.#connecting = undefined;
      }
    })();
    return this.#connecting;
  }

  async write(batch: StoreBatch): Promise<CommandFailure[]> {
    await this.connect();
    const cmds = batch.commands;
    try {
      if (batch.marker !== undefined) return await this.#transaction(cmds, batch.marker);
      const results = await Promise.allSettled(
        cmds.map((c) => this.#cluster.sendCommand(c[1], false, c)),
      );
      const failures: CommandFailure[] = [];
      for (let i = 0; i < results.length; i++) {
        const r = results[i]!;
        if (r.status === "fulfilled") continue;
        if (!(r.reason instanceof ErrorReply)) throw r.reason;
        failures.push({ index: i, message: r.reason.message });
      }
      return failures;
    } catch (err) {
      if (err instanceof ErrorReply) throw err;
      throw new StoreUnavailableError(
        `Lost the connection to Redis ${this.label}: ${(err as Error).message}`,
        { cause: err },
      );
    }
  }

  async #transaction(cmds: Command[], marker: string): Promise<CommandFailure[]> {
    const multi = this.#cluster.multi(cmds[0]?.[1] ?? marker);
    for (const c of cmds) multi.addCommand(c[1], false, c);
    multi.addCommand(marker, false, ["SET", marker, "1", "EX", String(MARKER_TTL_SECONDS)]);
    try {
      await multi.exec();
      return [];
    } catch (err) {
      const e = err as { replies?: unknown[]; errorIndexes?: number[] };
      if (Array.isArray(e.errorIndexes) && Array.isArray(e.replies)) {
        return e.errorIndexes.filter((i) => i < cmds.length).map((index) => ({
          index,
          message: String((e.replies![index] as Error)?.message),
        }));
      }
      throw err;
    }
  }

  async applied(marker: string): Promise<boolean> {
    await this.connect();
    try {
      return (await this.#cluster.exists(marker)) === 1;
    } catch (err) {
      throw new StoreUnavailableError(`Cannot reach Redis ${this.label}`, { cause: err });
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      if (this.#connected) await this.#cluster.close();
    } catch {
      this.#cluster.destroy();
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
