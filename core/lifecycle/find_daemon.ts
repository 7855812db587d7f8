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

/**
 * Lists the process ids of running `sockkit <service>` daemons by reading
 * `/proc` (Linux), leaving out this process. Where `/proc` cannot be read it
 * throws, saying to pass the process id.
 */
export function findDaemons(service: string): number[] {
  const pids: number[] = [];
  let entries: Iterable<Deno.DirEntry>;
  try {
    entries = Deno.readDirSync("/proc");
  } catch (err) {
    throw new Error(
      `Cannot list processes: /proc is not readable (${(err as Error).message}); pass --pid PID`,
    );
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e.name) || Number(e.name) === Deno.pid) continue;
    let raw: Uint8Array;
    try {
      raw = Deno.readFileSync(`/proc/${e.name}/cmdline`);
    } catch {
      continue; // exited meanwhile, or not ours to read
    }
    const argv = new TextDecoder().decode(raw).split("\0").filter((a) => a !== "");
    if (isDaemonCommand(argv, service)) pids.push(Number(e.name));
  }
  return pids.sort((a, b) => a - b);
}
