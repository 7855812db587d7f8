/**
 * `sockkit <service> reload`: tells a running daemon to reload its
 * certificates, allow-list, revocations and reloadable settings (SIGHUP).
 */
import { Command } from "@commander-js/extra-typings";
import { ConfigError } from "../core/config/mod.ts";
import { findDaemons } from "../core/lifecycle/mod.ts";
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
    .action(action((o) => {
      let pid = o.pid;
      if (pid === undefined) {
        const pids = findDaemons(service);
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
      }
      try {
        Deno.kill(pid, "SIGHUP");
      } catch (err) {
        console.error(`sockkit: Cannot signal process ${pid}: ${(err as Error).message}`);
        return 1;
      }
      console.log(`sent SIGHUP to sockkit ${service} (pid ${pid}): its log shows the result`);
    }));
}
