/** One `broadcast` debug line from the server's log. */
export interface BroadcastRecord {
  /** When the broadcast started, epoch ms (`performance.timeOrigin + now()`). */
  at: number;
  /** Clients written to. */
  clients: number;
  /** Time the server spent writing to all of them, ms. */
  writeMs: number;
  /** Server heap in use at that moment, bytes. */
  heapUsed: number;
  /** Server resident memory at that moment, bytes. */
  rss: number;
}

/** Options for {@linkcode spawnBenchServer}. */
export interface BenchServerOptions {
  /** How to run sockkit: `[deno, "run", "-A", "main.ts"]` or `[binary]`. */
  command: readonly string[];
  /** Certificates directory for `--certs`. */
  certsDir: string;
  /** `--max-clients`. */
  maxClients: number;
  /** `--period` in ms. */
  periodMs: number;
  /** Give up waiting for the `listening` line after this many ms. Default 30000. */
  startTimeoutMs?: number;
}

/**
 * A `sockkit servercli` child process started for a benchmark, with its
 * debug log parsed: the bound port and each broadcast as it happens, with
 * the server's memory at that moment.
 */
export class BenchServer implements AsyncDisposable {
  readonly #child: Deno.ChildProcess;
  readonly #broadcasts: BroadcastRecord[] = [];
  readonly #waiters = new Set<() => void>();
  readonly #status: Promise<Deno.CommandStatus>;
  #port = 0;
  #stderrTail: string[] = [];
  #exited = false;

  /** @internal Use {@linkcode spawnBenchServer}. */
  constructor(child: Deno.ChildProcess) {
    this.#child = child;
    this.#status = child.status;
    this.#status.then(() => {
      this.#exited = true;
      this.#wake();
    });
    this.#pump();
  }

  /** The server's port (0 until it is listening). */
  get port(): number {
    return this.#port;
  }

  /** The child's process id. */
  get pid(): number {
    return this.#child.pid;
  }

  /** Broadcasts logged so far. */
  get broadcasts(): readonly BroadcastRecord[] {
    return this.#broadcasts;
  }

  /** The last stderr lines that were not debug lines (for error messages). */
  get stderrTail(): string {
    return this.#stderrTail.join("\n");
  }

  /** Resolves when `test()` holds (checked after each log line), or rejects after `timeoutMs`. */
  waitFor(test: () => boolean, timeoutMs: number, what: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (test()) {
          done();
          resolve();
        } else if (this.#exited) {
          done();
          reject(
            new Error(`The bench server exited while waiting for ${what}: ${this.stderrTail}`),
          );
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.#waiters.delete(check);
      };
      this.#waiters.add(check);
      check();
    });
  }

  #wake(): void {
    for (const w of [...this.#waiters]) w();
  }

  async #pump(): Promise<void> {
    let partial = "";
    const decoder = new TextDecoder();
    for await (const chunk of this.#child.stderr) {
      partial += decoder.decode(chunk, { stream: true });
      let nl: number;
      while ((nl = partial.indexOf("\n")) >= 0) {
        this.#line(partial.slice(0, nl));
        partial = partial.slice(nl + 1);
      }
      this.#wake();
    }
  }

  #line(line: string): void {
    let rec: Record<string, unknown>;
    try {
      rec = JSON.parse(line);
    } catch {
      this.#tail(line);
      return;
    }
    if (rec.msg === "listening" && typeof rec.port === "number") this.#port = rec.port;
    else if (rec.msg === "broadcast") {
      this.#broadcasts.push({
        at: Number(rec.at),
        clients: Number(rec.clients),
        writeMs: Number(rec.writeMs),
        heapUsed: Number(rec.heapUsed),
        rss: Number(rec.rss),
      });
    } else if (rec.level !== "debug") this.#tail(line);
  }

  #tail(line: string): void {
    this.#stderrTail.push(line);
    if (this.#stderrTail.length > 10) this.#stderrTail.shift();
  }

  /** Stops the server (SIGTERM, SIGKILL after 10 s) and waits for it. Idempotent. */
  async close(): Promise<void> {
    if (!this.#exited) {
      try {
        this.#child.kill("SIGTERM");
      } catch { /* already gone */ }
      const force = setTimeout(() => {
        try {
          this.#child.kill("SIGKILL");
        } catch { /* already gone */ }
      }, 10_000);
      await this.#status.finally(() => clearTimeout(force));
    }
    await this.#status;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/**
 * Starts `sockkit servercli` on 127.0.0.1 with a free port, debug JSON logs
 * and the bench's limits, and resolves once it is listening.
 */
export async function spawnBenchServer(options: BenchServerOptions): Promise<BenchServer> {
  const [exe, ...pre] = options.command;
  if (exe === undefined) throw new TypeError("Empty bench server command");
  const child = new Deno.Command(exe, {
    args: [
      ...pre,
      "--log-level",
      "debug",
      "--log-format",
      "json",
      "servercli",
      "--host",
      "127.0.0.1",
      "--port",
      "0",
      "--certs",
      options.certsDir,
      "--max-clients",
      String(options.maxClients),
      "--period",
      `${options.periodMs}ms`,
    ],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const server = new BenchServer(child);
  try {
    await server.waitFor(
      () => server.port > 0,
      options.startTimeoutMs ?? 30_000,
      "the server to listen",
    );
  } catch (err) {
    await server.close();
    throw err;
  }
  return server;
}
