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
import { ingestCommand } from "./cmd/ingest.ts";
import { searchCommand } from "./cmd/search.ts";
import { brokerCommand } from "./cmd/broker.ts";
import { certsCommand } from "./cmd/certs.ts";
import { queryCommand } from "./cmd/query.ts";
import { clientcliCommand } from "./cmd/clientcli.ts";
import { servercliCommand } from "./cmd/servercli.ts";
import { demoCommand } from "./cmd/demo.ts";

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
  root.addCommand(ingestCommand());
  root.addCommand(searchCommand());
  root.addCommand(brokerCommand());
  root.addCommand(certsCommand());
  root.addCommand(queryCommand());
  root.addCommand(clientcliCommand());
  root.addCommand(servercliCommand());
  root.addCommand(demoCommand());
  return root;
}

if (import.meta.main) {
  try {
    await rootCommand().parseAsync(Deno.args, { from: "user" });
  } catch (err) {
    const e = err as { code?: string; exitCode?: number };
    if (typeof e.code === "string" && e.code.startsWith("commander.")) {
      const helpish = ["commander.helpDisplayed", "commander.version", "commander.help"].includes(
        e.code,
      );
      Deno.exit(helpish ? 0 : 2);
    }
    Deno.exit(reportError(err));
  }
}
