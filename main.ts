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

/** The one-line summaries `sockkit --help` lists (each command's own help says more). */
const SUMMARIES: Record<string, string> = {
  broker: "persistent two-way message broker between connectors over mutual TLS (port 10673)",
  certs: "create and manage the CA, server and client certificates every service uses",
  clientcli: "interactive terminal client for servercli",
  demo: "run every service once on loopback with throwaway certificates, then clean up",
  ingest: "mutual-TLS daemon storing JSON objects in Redis (port 1191), its client and bench",
  query: "TCP+UDP server answering queries with your function over watched data files (port 9000)",
  search: "exact full-line search server over a text file (port 44445), client, bench, load",
  servercli: "TLS line server: answers lines reversed, sends every client the date (port 3443)",
};

/** Builds the root command with every subcommand registered. */
export function rootCommand(): Command {
  const root = new Command()
    .name("sockkit")
    .description(
      "Secure socket services and the certificates they use. Run `sockkit demo` to see each " +
        "one work on loopback, and `sockkit <command> --help` for its flags and examples.",
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
  for (const cmd of root.commands) {
    const summary = SUMMARIES[cmd.name()];
    if (summary) cmd.summary(summary);
  }
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
