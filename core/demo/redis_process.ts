import type { Logger } from "../log/mod.ts";
import { connect, type Connection, freeTcpPort } from "../net/mod.ts";
import { delay } from "../async/mod.ts";

/** Re-exported for existing imports; it lives in `core/net` now. */
export { freeTcpPort };

/** Options for {@linkcode startRedisServer}. */
export interface RedisServerOptions {
  /** Port to listen on; default: a free port on 127.0.0.1 picked by the OS. */
  port?: number;
  /** Extra `redis-server` arguments, e.g. `["--maxmemory", "64mb"]`. */
  args?: string[];
  /** The `redis-server` executable; default `redis-server` from PATH. */
  bin?: string;
  /** How long to wait for the server to answer PING, in ms; default 10000. */
  startTimeoutMs?: number;
  /** Receives start/stop events at debug level. */
  logger?: Logger;
}

/** A private `redis-server` child process on 127.0.0.1 without persistence. */
export interface RedisServer extends AsyncDisposable {
  /** The TCP port it listens on (stays the same across restarts). */
  readonly port: number;
  /** `redis://127.0.0.1:PORT`. */
  readonly url: string;
  /** True while the process runs. */
  readonly running: boolean;
  /** Stops the server (SIGTERM, then SIGKILL after 5 s); idempotent. */
  stop(): Promise<void>;
  /** Stops it if running, then starts it again on the same port with empty data. */
  restart(): Promise<void>;
}

const OUTPUT_TAIL_BYTES = 4096;

/** Answers whether a Redis server on `port` replies `+PONG` to PING within 1 s. */
async function pings(port: number): Promise<boolean> {
  let conn: Connection | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    conn = await connect({ host: "127.0.0.1", port, timeoutMs: 1000 });
    const c = conn;
    const reply = new Promise<string>((resolve) => {
      let text = "";
      const dec = new TextDecoder();
      c.receive({
        data: (chunk) => {
          text += dec.decode(chunk, { stream: true });
          if (text.includes("\r\n")) resolve(text);
        },
        end: () => resolve(text),
      });
      void c.closed.then(() => resolve(text));
      timer = setTimeout(() => resolve(text), 1000);
    });
    c.send("PING\r\n");
    return (await reply).startsWith("+PONG");
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
    conn?.destroy();
  }
}

class RedisChild implements RedisServer {
  readonly port: number;
  readonly url: string;
  readonly #opts: RedisServerOptions;
  #dir: string | undefined;
  #child: Deno.ChildProcess | undefined;
  #output: Promise<void> = Promise.resolve();
  #tail = "";

  constructor(port: number, opts: RedisServerOptions) {
    this.port = port;
    this.url = `redis://127.0.0.1:${port}`;
    this.#opts = opts;
  }

  get running(): boolean {
    return this.#child !== undefined;
  }

  async start(): Promise<void> {
    const bin = this.#opts.bin ?? "redis-server";
    this.#dir ??= await Deno.makeTempDir({ prefix: "sockkit-redis-" });
    const args = [
      "--port",
      String(this.port),
      "--bind",
      "127.0.0.1",
      "--save",
      "",
      "--appendonly",
      "no",
      "--dir",
      this.#dir,
      ...(this.#opts.args ?? []),
    ];
    let child: Deno.ChildProcess;
    try {
      child = new Deno.Command(bin, { args, stdin: "null", stdout: "piped", stderr: "piped" })
        .spawn();
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) {
        throw new Error(
          `Cannot start "${bin}": not found on PATH (install Redis, e.g. "apt-get install redis-server")`,
          { cause: err },
        );
      }
      throw err;
    }
    this.#child = child;
    this.#tail = "";
    this.#output = Promise.all([this.#collect(child.stdout), this.#collect(child.stderr)])
      .then(() => {});
    const deadline = Date.now() + (this.#opts.startTimeoutMs ?? 10_000);
    let exited: Deno.CommandStatus | undefined;
    child.status.then((s) => exited = s);
    while (!(await pings(this.port))) {
      if (exited || Date.now() > deadline) {
        const why = exited ? `exited with code ${exited.code}` : "did not answer PING in time";
        await this.stop();
        const out = this.#tail.trim().split("\n").slice(-3).join(" | ");
        throw new Error(
          `Cannot start redis-server on 127.0.0.1:${this.port}: it ${why}${out ? `: ${out}` : ""}`,
        );
      }
      await delay(20);
    }
    this.#opts.logger?.debug("redis-server started", { port: this.port, pid: child.pid });
  }

  async #collect(stream: ReadableStream<Uint8Array>): Promise<void> {
    const dec = new TextDecoder();
    for await (const chunk of stream) {
      this.#tail = (this.#tail + dec.decode(chunk, { stream: true })).slice(-OUTPUT_TAIL_BYTES);
    }
  }

  async stop(): Promise<void> {
    const child = this.#child;
    if (!child) return;
    this.#child = undefined;
    try {
      child.kill("SIGTERM");
    } catch { /* already exited */ }
    const timer = setTimeout(() => {
      try {
        child.kill("SIGKILL");
      } catch { /* already exited */ }
    }, 5000);
    try {
      await child.status;
    } finally {
      clearTimeout(timer);
    }
    await this.#output;
    this.#opts.logger?.debug("redis-server stopped", { port: this.port });
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
    if (this.#dir) {
      await Deno.remove(this.#dir, { recursive: true }).catch(() => {});
      this.#dir = undefined;
    }
  }
}

/**
 * Starts a private `redis-server` on 127.0.0.1 (a free port unless one is
 * given) with persistence off (`--save "" --appendonly no`) and resolves once
 * it answers PING. Dispose it to stop the process and remove its working
 * directory.
 *
 * @example
 * ```ts
 * await using redis = await startRedisServer();
 * console.log(redis.url); // redis://127.0.0.1:PORT
 * ```
 */
export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  const fixed = options.port !== undefined;
  for (let attempt = 0;; attempt++) {
    const server = new RedisChild(options.port ?? freeTcpPort(), options);
    try {
      await server.start();
      return server;
    } catch (err) {
      await server[Symbol.asyncDispose]();
      // Another process may have taken the free port between picking and binding it.
      const raced = /Address already in use/i.test(String((err as Error).message));
      if (fixed || !raced || attempt >= 3) throw err;
    }
  }
}
