import { fileURLToPath } from "node:url";

/** The repository root (where `main.ts` and `deno.json` are). */
export const REPO_ROOT: string = fileURLToPath(new URL("../..", import.meta.url));

/** Options for {@linkcode runCli} and {@linkcode spawnCli}. */
export interface CliOptions {
  /** Text (or bytes) written to the child's stdin, which is then closed. */
  stdin?: string | Uint8Array;
  /** Extra environment variables (the parent's are inherited; `NO_COLOR=1` is set). */
  env?: Record<string, string>;
  /** Working directory; default the repository root. */
  cwd?: string;
  /** Kill the child (SIGKILL) after this many ms; default 60000 for runCli, none for spawnCli. */
  timeoutMs?: number;
}

/** What {@linkcode runCli} returns. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** The `deno run` arguments that run sockkit's `main.ts` with `args`. */
export function cliCommandArgs(args: string[]): string[] {
  return [
    "run",
    "-A",
    "--quiet",
    "--no-prompt",
    "--config",
    `${REPO_ROOT}deno.json`,
    `${REPO_ROOT}main.ts`,
    ...args,
  ];
}

function command(args: string[], opts: CliOptions, stdin: "piped" | "null"): Deno.Command {
  return new Deno.Command(Deno.execPath(), {
    args: cliCommandArgs(args),
    cwd: opts.cwd ?? REPO_ROOT,
    env: { NO_COLOR: "1", ...opts.env },
    stdin,
    stdout: "piped",
    stderr: "piped",
  });
}

/**
 * Runs `sockkit ARGS` (main.ts under the running Deno) to completion and
 * returns its exit code and output. Throws if it outlives `timeoutMs`.
 *
 * @example
 * ```ts
 * const { code, stderr } = await runCli(["certs", "list", "--dir", dir]);
 * ```
 */
export async function runCli(args: string[], opts: CliOptions = {}): Promise<CliResult> {
  const child = command(args, opts, opts.stdin === undefined ? "null" : "piped").spawn();
  const timeoutMs = opts.timeoutMs ?? 60_000;
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      child.kill("SIGKILL");
    } catch { /* exited */ }
  }, timeoutMs);
  try {
    if (opts.stdin !== undefined) {
      const w = child.stdin.getWriter();
      const bytes = typeof opts.stdin === "string"
        ? new TextEncoder().encode(opts.stdin)
        : opts.stdin;
      await w.write(bytes).catch(() => {}); // the child may exit without reading
      await w.close().catch(() => {});
    }
    const out = await child.output();
    const result = {
      code: out.code,
      stdout: new TextDecoder().decode(out.stdout),
      stderr: new TextDecoder().decode(out.stderr),
    };
    if (timedOut) {
      throw new Error(
        `sockkit ${args.join(" ")} did not exit within ${timeoutMs} ms; stderr: ${result.stderr}`,
      );
    }
    return result;
  } finally {
    clearTimeout(timer);
  }
}

/** A running `sockkit` child process (see {@linkcode spawnCli}). */
export interface CliProcess extends AsyncDisposable {
  readonly pid: number;
  /** Complete stdout lines so far. */
  readonly stdoutLines: readonly string[];
  /** Complete stderr lines so far. */
  readonly stderrLines: readonly string[];
  /** Resolves with the exit status. */
  readonly status: Promise<Deno.CommandStatus>;
  /** All stdout text so far. */
  stdoutText(): string;
  /** All stderr text so far. */
  stderrText(): string;
  /**
   * Resolves with the match of the first line (stdout or stderr, already seen
   * or still to come) that matches `re`; rejects after `timeoutMs` (default
   * 30000) or when the process exits first, quoting its stderr.
   */
  waitForLine(re: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  writeStdin(text: string | Uint8Array): Promise<void>;
  closeStdin(): Promise<void>;
  /** Sends a signal (default SIGTERM); a no-op once the process has exited. */
  kill(signal?: Deno.Signal): void;
}

/**
 * Starts `sockkit ARGS` with piped stdin/stdout/stderr and returns a handle
 * for waiting on output lines, writing input and signalling it. Disposing it
 * kills the process (SIGTERM, SIGKILL after 5 s) and awaits its exit, so
 * tests stay leak-free.
 *
 * @example
 * ```ts
 * await using srv = spawnCli(["search", "serve", "--file", file, "--port", "0"]);
 * const m = await srv.waitForLine(/listening on .*:(\d+)/);
 * srv.kill("SIGINT");
 * assert.equal((await srv.status).code, 0);
 * ```
 */
export function spawnCli(args: string[], opts: CliOptions = {}): CliProcess {
  const child = command(args, opts, "piped").spawn();
  const stdoutLines: string[] = [];
  const stderrLines: string[] = [];
  let stdoutText = "";
  let stderrText = "";
  const waiters = new Set<(line: string) => void>();
  let exited = false;

  const pump = async (
    stream: ReadableStream<Uint8Array>,
    lines: string[],
    append: (s: string) => void,
  ) => {
    const dec = new TextDecoder();
    let partial = "";
    const emit = (line: string) => {
      lines.push(line);
      for (const w of [...waiters]) w(line);
    };
    for await (const chunk of stream) {
      const text = dec.decode(chunk, { stream: true });
      append(text);
      partial += text;
      let nl: number;
      while ((nl = partial.indexOf("\n")) >= 0) {
        emit(partial.slice(0, nl).replace(/\r$/, ""));
        partial = partial.slice(nl + 1);
      }
    }
    if (partial) emit(partial);
  };
  const pumped = Promise.all([
    pump(child.stdout, stdoutLines, (s) => stdoutText += s),
    pump(child.stderr, stderrLines, (s) => stderrText += s),
  ]);
  const status = child.status.then(async (s) => {
    await pumped;
    exited = true;
    for (const w of [...waiters]) w("");
    return s;
  });
  let timer: ReturnType<typeof setTimeout> | undefined;
  if (opts.timeoutMs !== undefined) {
    timer = setTimeout(() => handle.kill("SIGKILL"), opts.timeoutMs);
    status.finally(() => clearTimeout(timer));
  }
  const writer = child.stdin.getWriter();
  let stdinClosed = false;
  if (opts.stdin !== undefined) {
    const bytes = typeof opts.stdin === "string"
      ? new TextEncoder().encode(opts.stdin)
      : opts.stdin;
    writer.write(bytes).then(() => writer.close()).catch(() => {});
    stdinClosed = true;
  }

  const handle: CliProcess = {
    pid: child.pid,
    stdoutLines,
    stderrLines,
    status,
    stdoutText: () => stdoutText,
    stderrText: () => stderrText,
    waitForLine(re, timeoutMs = 30_000) {
      for (const line of [...stdoutLines, ...stderrLines]) {
        const m = line.match(re);
        if (m) return Promise.resolve(m);
      }
      return new Promise((resolve, reject) => {
        const done = () => {
          clearTimeout(t);
          waiters.delete(check);
        };
        const check = (line: string) => {
          const m = line.match(re);
          if (m) {
            done();
            resolve(m);
          } else if (exited) {
            done();
            reject(
              new Error(
                `sockkit ${
                  args.join(" ")
                } exited before printing a line matching ${re}; stderr: ${stderrText.trim()}`,
              ),
            );
          }
        };
        const t = setTimeout(() => {
          waiters.delete(check);
          reject(
            new Error(
              `Timed out after ${timeoutMs} ms waiting for a line matching ${re} from sockkit ${
                args.join(" ")
              }; stdout: ${stdoutText.trim()}; stderr: ${stderrText.trim()}`,
            ),
          );
        }, timeoutMs);
        waiters.add(check);
        if (exited) check("");
      });
    },
    async writeStdin(text) {
      if (stdinClosed) throw new Error("Cannot write to the child's stdin: it is closed");
      await writer.write(typeof text === "string" ? new TextEncoder().encode(text) : text);
    },
    async closeStdin() {
      if (stdinClosed) return;
      stdinClosed = true;
      await writer.close().catch(() => {});
    },
    kill(signal = "SIGTERM") {
      if (exited) return;
      try {
        child.kill(signal);
      } catch { /* already exited */ }
    },
    async [Symbol.asyncDispose]() {
      await handle.closeStdin();
      if (!exited) {
        handle.kill("SIGTERM");
        const force = setTimeout(() => handle.kill("SIGKILL"), 5000);
        await status.finally(() => clearTimeout(force));
      }
      await status;
      clearTimeout(timer);
    },
  };
  return handle;
}
