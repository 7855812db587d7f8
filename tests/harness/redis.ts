import { createClient, type RedisClientType } from "redis";
import { type RedisServer, startRedisServer } from "../../core/demo/redis_process.ts";

/** A node-redis client that closes itself when disposed. */
export type DisposableRedisClient = RedisClientType & AsyncDisposable;

/** A real `redis-server` for a test (see {@linkcode startRedis}). */
export interface TestRedis extends AsyncDisposable {
  readonly port: number;
  readonly url: string;
  /** Stops the server; idempotent. */
  stop(): Promise<void>;
  /** Starts it again on the same port (empty: persistence is off). */
  restart(): Promise<void>;
  /** A connected node-redis client; close it with `await using`. */
  client(): Promise<DisposableRedisClient>;
}

/** Options for {@linkcode startRedis}. */
export interface StartRedisOptions {
  /** Extra `redis-server` arguments. */
  args?: string[];
}

/**
 * Starts a real `redis-server` on a free port with persistence off and waits
 * until it answers PING. Thin wrapper over the product's
 * `startRedisServer` (`core/demo/redis_process.ts`) that adds clients.
 *
 * @example
 * ```ts
 * await using redis = await startRedis();
 * await using client = await redis.client();
 * await client.set("k", "v");
 * ```
 */
export async function startRedis(options: StartRedisOptions = {}): Promise<TestRedis> {
  const server: RedisServer = await startRedisServer(options.args ? { args: options.args } : {});
  const clients = new Set<RedisClientType>();
  const closeClient = async (c: RedisClientType) => {
    if (!clients.delete(c)) return;
    if (c.isOpen) {
      try {
        await c.close();
      } catch {
        c.destroy();
      }
    }
  };
  return {
    port: server.port,
    url: server.url,
    stop: () => server.stop(),
    restart: () => server.restart(),
    async client() {
      const c = createClient({ url: server.url }) as RedisClientType;
      // A stopped server makes the client emit "error"; without a listener that would throw.
      c.on("error", () => {});
      await c.connect();
      clients.add(c);
      return Object.assign(c, { [Symbol.asyncDispose]: () => closeClient(c) });
    },
    async [Symbol.asyncDispose]() {
      for (const c of [...clients]) await closeClient(c);
      await server[Symbol.asyncDispose]();
    },
  };
}
