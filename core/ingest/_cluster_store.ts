import { createCluster, ErrorReply } from "redis";
import { type Command, RespParser, type RespValue } from "./_resp.ts";
import { refusalOutage } from "./_redis_refusal.ts";
import {
  type BatchStore,
  MARKER_TTL_SECONDS,
  type ObjectFailure,
  type StoreBatch,
  StoreUnavailableError,
} from "./_store.ts";

/** Options for {@linkcode ClusterStore}. */
export interface ClusterStoreOptions {
  /** Connect timeout per node, ms. Default 2000. */
  connectTimeoutMs?: number;
}

type Cluster = ReturnType<typeof createCluster>;

/**
 * Decodes RESP-encoded commands (arrays of bulk strings) back into
 * arguments, leaving out the `MULTI`/`EXEC` wrappers.
 */
export function decodeCommands(wire: Uint8Array): Command[] {
  const out: Command[] = [];
  new RespParser((v: RespValue) => {
    const c = v as Command;
    if (c.length === 1 && (c[0] === "MULTI" || c[0] === "EXEC")) return;
    out.push(c);
  }).push(wire);
  return out;
}

/**
 * A Redis Cluster through node-redis `createCluster`: each command is routed
 * by its key's slot and auto-pipelined per node. A batch that must be atomic
 * (the stream layout: one stream key and its marker share a slot) is one
 * `MULTI`/`EXEC` on that slot's node; otherwise commands go in order, and an
 * object whose keys live in different slots is not atomic (Redis Cluster
 * cannot run a transaction across slots).
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

  async write(batch: StoreBatch): Promise<ObjectFailure[]> {
    await this.connect();
    const all = decodeCommands(batch.wire);
    const objects: Command[][] = [];
    let at = 0;
    for (const n of batch.counts) {
      objects.push(all.slice(at, at + n));
      at += n;
    }
    try {
      if (batch.atomic === "batch") return await this.#transaction(objects, batch.marker);
      // Objects in order; one object's commands sent back to back (a transaction
      // cannot span slots, so several keys of one object are not atomic here).
      const results = await Promise.all(
        objects.map((cmds) =>
          Promise.allSettled(cmds.map((c) => this.#cluster.sendCommand(c[1], false, c)))
        ),
      );
      const failures: ObjectFailure[] = [];
      for (let i = 0; i < results.length; i++) {
        for (const r of results[i]!) {
          if (r.status === "fulfilled") continue;
          if (!(r.reason instanceof ErrorReply)) throw r.reason;
          failures.push({ object: i, message: r.reason.message });
          break;
        }
      }
      // READONLY, OOM, CLUSTERDOWN...: the batch is spooled and written again (kv is idempotent).
      const outage = refusalOutage(this.label, failures.map((f) => f.message));
      if (outage) throw outage;
      return failures;
    } catch (err) {
      if (err instanceof StoreUnavailableError) throw err;
      throw new StoreUnavailableError(
        `Lost the connection to Redis ${this.label}: ${(err as Error).message}`,
        { cause: err },
      );
    }
  }

  async #transaction(objects: Command[][], marker: string | undefined): Promise<ObjectFailure[]> {
    const first = objects.find((o) => o.length > 0)?.[0]?.[1] ?? marker;
    const multi = this.#cluster.multi(first);
    for (const cmds of objects) for (const c of cmds) multi.addCommand(c[1], false, c);
    if (marker !== undefined) {
      multi.addCommand(marker, false, ["SET", marker, "1", "EX", String(MARKER_TTL_SECONDS)]);
    }
    try {
      await multi.exec();
      return [];
    } catch (err) {
      const e = err as { replies?: unknown[]; errorIndexes?: number[] };
      if (!Array.isArray(e.errorIndexes) || !Array.isArray(e.replies)) throw err;
      const failures: ObjectFailure[] = [];
      let c = 0;
      for (let i = 0; i < objects.length; i++) {
        const end = c + objects[i]!.length;
        const bad = e.errorIndexes.find((x) => x >= c && x < end);
        if (bad !== undefined) {
          failures.push({ object: i, message: String((e.replies[bad] as Error)?.message) });
        }
        c = end;
      }
      return failures;
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
