/**
 * sockkit: one command-line toolkit of secure socket services. This root
 * command holds the global options and registers every subcommand from `cmd/`.
 *
 * @module
 */
import { Command, Option } from "@commander-js/extra-typings";
import denoJson from "./deno.json" with { type: "json" };
import { reportError } from "./cmd/_cli.ts";
// Subcommands (one import each, in alphabetical order):
import { brokerCommand } from "./cmd/broker.ts";
import { certsCommand } from "./cmd/certs.ts";
import { clientcliCommand } from "./cmd/clientcli.ts";
import { demoCommand } from "./cmd/demo.ts";
import { ingestCommand } from "./cmd/ingest.ts";
import { queryCommand } from "./cmd/query.ts";
import { searchCommand } from "./cmd/search.ts";
import { servercliCommand } from "./cmd/servercli.ts";

/** Builds the root command with every subcommand registered. */
export function rootCommand(): Command {
  const root = new Command()
    .name("sockkit")
    .description(
      "Secure socket services (mutual-TLS ingest into Redis, a TLS line server and client,\n" +
        "a message broker, a line search server, a query server) and the certificates they use.",
    )
    .version(denoJson.version, "-V, --version", "print the version")
    .addOption(
      new Option("--log-level <level>", "lowest log level written (env SOCKKIT_LOG_LEVEL)")
        .choices(["debug", "info", "warn", "error", "silent"]),
    )
    .option(
      "--log-file <path>",
      "append logs to this file instead of stderr (env SOCKKIT_LOG_FILE)",
    )
    .addOption(
      new Option("--log-format <format>", "log line format (env SOCKKIT_LOG_FORMAT)").choices([
        "text",
        "json",
      ]),
    )
    .showHelpAfterError("(run with --help for usage)")
    .configureOutput({ outputError: (str, write) => write(str) })
    .exitOverride();
  // Register subcommands here (alphabetical):
  root.addCommand(brokerCommand());
  root.addCommand(certsCommand());
  root.addCommand(clientcliCommand());
  root.addCommand(demoCommand());
  root.addCommand(ingestCommand());
  root.addCommand(queryCommand());
  root.addCommand(searchCommand());
  root.addCommand(servercliCommand());
  usageErrorsExit2(root);
  return root;
}

/**
 * Makes every subcommand throw on usage errors instead of exiting itself
 * (commander does not inherit `exitOverride`), so that a usage error anywhere
 * exits 2 and `--help` exits 0.
 */
function usageErrorsExit2(cmd: Command): void {
  for (const sub of cmd.commands as Command[]) {
    sub.exitOverride();
    sub.showHelpAfterError("(run with --help for usage)");
    usageErrorsExit2(sub);
  }
}

if (import.meta.main) {
  try {
    await rootCommand().parseAsync(Deno.args, { from: "user" });
  } catch (err) {
    const e = err as { code?: string; exitCode?: number };
    if (typeof e.code === "string" && e.code.startsWith("commander.")) {
      // --help and --version exit 0; usage errors (and a group run without
      // its subcommand, which prints help) exit 2.
      Deno.exit(e.exitCode === 0 ? 0 : 2);
    }
    Deno.exit(reportError(err));
  }
}
