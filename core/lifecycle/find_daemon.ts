/** The subcommand words after `sockkit <service>` that run a daemon (`""`: none, the default). */
const DAEMON_VERBS: Record<string, readonly string[]> = {
  ingest: ["", "serve"],
  servercli: [""],
  search: ["serve"],
  query: ["serve"],
  broker: ["serve", "connect"],
};

/** The services {@linkcode findDaemons} can find. */
export const DAEMON_SERVICES: readonly string[] = Object.keys(DAEMON_VERBS);

/**
 * Whether a process's arguments (`/proc/PID/cmdline`, split) run the daemon
 * of `service`: `... main.ts [global options] <service> [verb] ...` or the
 * compiled `sockkit <service> ...`.
 */
export function isDaemonCommand(argv: readonly string[], service: string): boolean {
  const verbs = DAEMON_VERBS[service];
  if (!verbs) return false;
  const start = argv.findIndex((a, i) =>
    a.endsWith("/main.ts") || a === "main.ts" || (i === 0 && /(^|\/)sockkit$/.test(a))
  );
  if (start < 0) return false;
  const rest = argv.slice(start + 1);
  const at = rest.findIndex((a) => DAEMON_SERVICES.includes(a) || a === "certs");
  if (at < 0 || rest[at] !== service) return false;
  const next = rest[at + 1] ?? "";
  return verbs.includes(next.startsWith("-") ? "" : next);
}

/** A running process: its id and its arguments (split on whitespace). */
export interface ProcessInfo {
  pid: number;
  argv: string[];
}

/**
 * Lists running processes with `ps -eo pid=,args=` (procps). Deno's
 * permissions let sockkit run programs but not read `/proc/PID/cmdline`,
 * so `ps` reads it. Throws, naming the fix, when `ps` cannot run.
 */
export async function listProcesses(): Promise<ProcessInfo[]> {
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command("ps", {
      args: ["-eo", "pid=,args="],
      stdout: "piped",
      stderr: "piped",
    })
      .output();
  } catch (err) {
    throw new Error(
      `Cannot list processes: "ps" did not run (${(err as Error).message}); install procps, ` +
        "or send the daemon SIGHUP yourself (kill -HUP PID)",
    );
  }
  if (!out.success) {
    throw new Error(
      `Cannot list processes: ps failed: ${new TextDecoder().decode(out.stderr).trim()}`,
    );
  }
  const rows: ProcessInfo[] = [];
  for (const line of new TextDecoder().decode(out.stdout).split("\n")) {
    const m = /^\s*(\d+)\s+(.*)$/.exec(line);
    if (m) rows.push({ pid: Number(m[1]), argv: m[2]!.split(/\s+/).filter((a) => a !== "") });
  }
  return rows;
}

/** The process ids of running `sockkit <service>` daemons, leaving out this process. */
export async function findDaemons(service: string): Promise<number[]> {
  return (await listProcesses())
    .filter((p) => p.pid !== Deno.pid && isDaemonCommand(p.argv, service))
    .map((p) => p.pid)
    .sort((a, b) => a - b);
}

/** The arguments of process `pid`, or `undefined` when it does not run. */
export async function commandLine(pid: number): Promise<string[] | undefined> {
  return (await listProcesses()).find((p) => p.pid === pid)?.argv;
}
