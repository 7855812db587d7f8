import { type CliOptions, type CliProcess, spawnCli } from "./cli.ts";

/** A daemon from {@linkcode startDaemon}: the running process and the port it took. */
export interface Daemon extends CliProcess {
  /** The port it listens on (its TCP port, for `query`). */
  readonly port: number;
}

/** The line each daemon logs once it listens, with the port in group 1. */
const LISTENING: Record<string, RegExp> = {
  ingest: /listening on [^ ]*:(\d+)/,
  search: /listening on [^ ]*:(\d+)/,
  servercli: /listening .*port=(\d+)/,
  broker: /listening .*port=(\d+)/,
  query: /listening .*tcp=(\d+)/,
};

/** Options for {@linkcode startDaemon}. */
export interface StartDaemonOptions extends CliOptions {
  /** The line that says it listens, with the port in group 1. Default the one of the service `args[0]`. */
  listening?: RegExp;
  /** The address it binds. Default `"127.0.0.1"`. */
  host?: string;
}

/**
 * Starts `sockkit ARGS --host 127.0.0.1 --port 0` (or `options.host`) and resolves once the
 * daemon logs that it listens (the moment its signal handlers are in place),
 * with the port it took. Dispose it like any {@linkcode CliProcess}.
 *
 * @example
 * ```ts
 * await using srv = await startDaemon(["servercli", "--certs", pki.dir]);
 * await using c = await lineClient(srv.port, tls);
 * ```
 */
export async function startDaemon(
  args: string[],
  options: StartDaemonOptions = {},
): Promise<Daemon> {
  const { listening, host, ...cli } = options;
  const re = listening ?? LISTENING[args[0] ?? ""];
  if (re === undefined) {
    throw new TypeError(
      `Cannot tell how "${args[0]}" says it listens: pass the listening option`,
    );
  }
  const proc = spawnCli([...args, "--host", host ?? "127.0.0.1", "--port", "0"], cli);
  try {
    const m = await proc.waitForLine(re, 30_000);
    return Object.assign(proc, { port: Number(m[1]) });
  } catch (err) {
    await proc[Symbol.asyncDispose]();
    throw err;
  }
}
