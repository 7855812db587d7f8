/**
 * `sockkit <service> reload`: tells a running daemon to reload its
 * certificates, allow-list, revocations and reloadable settings (SIGHUP).
 */
import { Command } from "@commander-js/extra-typings";
import { ConfigError } from "../core/config/mod.ts";
import { commandLine, findDaemons, isDaemonCommand } from "../core/lifecycle/mod.ts";
import { action, intArg } from "./_cli.ts";

/** Builds the `reload` subcommand of `service`. */
export function reloadCommand(service: string) {
  return new Command("reload")
    .description(
      `make the running ${service} daemon re-read its certificate, key, client allow-list, ` +
        "revocations and reloadable config settings (sends SIGHUP; the daemon logs the result)",
    )
    .option(
      "--pid <pid>",
      `process id of the daemon (default: the one ${service} daemon running)`,
      intArg(1),
    )
    .action(action(async (o) => {
      let pid = o.pid;
      if (pid === undefined) {
        const pids = await findDaemons(service);
        if (pids.length === 0) {
          console.error(
            `sockkit: No running sockkit ${service} daemon found on this machine (start one, or pass --pid PID)`,
          );
          return 1;
        }
        if (pids.length > 1) {
          throw new ConfigError(
            `Several sockkit ${service} daemons are running (pids ${
              pids.join(", ")
            }): pass --pid PID`,
          );
        }
        pid = pids[0]!;
      } else {
        // SIGHUP ends most programs: signal only a daemon of this service.
        const argv = await commandLine(pid);
        if (argv === undefined) {
          console.error(
            `sockkit: No process ${pid} is running (check the pid, or leave out --pid)`,
          );
          return 1;
        }
        if (!isDaemonCommand(argv, service)) {
          throw new ConfigError(
            `Process ${pid} is not a sockkit ${service} daemon ("${
              argv.slice(0, 3).join(" ")
            } ..."): check the pid`,
          );
        }
      }
      try {
        Deno.kill(pid, "SIGHUP");
      } catch (err) {
        const why = err instanceof Deno.errors.NotFound
          ? "no such process (check the pid, or leave out --pid to find the daemon)"
          : err instanceof Deno.errors.PermissionDenied
          ? "permission denied (run as the daemon's user)"
          : (err as Error).message;
        console.error(`sockkit: Cannot signal process ${pid}: ${why}`);
        return 1;
      }
      console.log(`sent SIGHUP to sockkit ${service} (pid ${pid}): its log shows the result`);
    }));
}
