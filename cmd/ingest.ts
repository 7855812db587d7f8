/**
 * `sockkit ingest`: the mutual-TLS JSON ingest daemon (default action), its
 * client (`send`) and load generator (`bench`).
 */
import { Command } from "@commander-js/extra-typings";
import { ReloadableCheck, runDaemon } from "../core/lifecycle/mod.ts";
import { DaemonMetrics } from "../core/metrics/mod.ts";
import {
  INGEST_SETTINGS,
  ingestOptions,
  loadIngestConfig,
  loadIngestTls,
  reloadIngest,
  resolveIngestSettings,
  startIngest,
} from "../core/ingest/mod.ts";
import { action, globals, loggerFrom } from "./_cli.ts";
import { ingestBenchCommand, ingestSendCommand } from "./ingest_client.ts";
import { reloadCommand } from "./_reload.ts";
import { flagsOf, withSettings } from "./_settings.ts";

/**
 * Builds `sockkit ingest`: `serve` (the default, so `sockkit ingest --port
 * 1191` runs the daemon), `send` and `bench`.
 */
export function ingestCommand(): Command {
  return new Command("ingest")
    .description(
      "Mutual-TLS JSON ingest into Redis: the daemon (default), a client and a load generator.",
    )
    .addCommand(serveCommand(), { isDefault: true })
    .addCommand(ingestSendCommand())
    .addCommand(ingestBenchCommand())
    .addCommand(reloadCommand("ingest")) as unknown as Command;
}

function serveCommand() {
  return withSettings(
    new Command("serve")
      .description(
        "Run the daemon (default): receive JSON objects over mutual TLS, store them in Redis",
      )
      .option("--config <path>", "TOML config file or directory (conf/daemon.conf layout)"),
    INGEST_SETTINGS,
  )
    .addHelpText(
      "after",
      "\nExamples:\n" +
        "  sockkit ingest --certs certs --redis redis://127.0.0.1:6379\n" +
        "  sockkit ingest --config conf/daemon.conf --ack --metrics-port 9191\n" +
        "  sockkit ingest send --client alice --ack data.ndjson\n" +
        "  sockkit ingest bench --clients 10 --objects 500000",
    )
    .action(action(async (opts, cmd) => {
      const file = await loadIngestConfig(opts.config);
      const flags = flagsOf(INGEST_SETTINGS, cmd);
      // The config file may name the log file ([log] filepath), so its warnings wait for the logger.
      const warnings: string[] = [];
      const settings = resolveIngestSettings(flags, file, opts.config, (m) => warnings.push(m));
      const log = loggerFrom(globals(cmd), { svc: "ingest" }, settings.logFile);
      for (const w of warnings) log.warn(w);
      const tls = await loadIngestTls(settings, flags, (w) => log.warn(w));
      // a reload puts the revocation list of the certificates directory it loads in force
      const check = new ReloadableCheck(tls.authorize);
      const metrics = new DaemonMetrics("ingest");
      const server = await startIngest({
        ...ingestOptions(settings, { tls: tls.tls, authorize: check.authorize }),
        daemonMetrics: metrics,
        logger: log,
      });
      await runDaemon(server, {
        started: () =>
          log.info(`listening on ${settings.host}:${server.port} (mutual TLS)`, {
            redis: server.redisLabel,
            layout: settings.layout,
            certs: tls.source,
            ack: settings.ack,
            spool: settings.spoolDir,
          }),
        logger: log,
        metrics,
        metricsPort: settings.metricsPort,
        metricsHost: settings.metricsHost,
        ready: () => server.ready(),
        reload: () =>
          reloadIngest(server, {
            configPath: opts.config,
            flags,
            settings,
            check,
            logger: log,
          }),
        onSignal: (sig) => log.info("draining", { signal: sig }),
      });
      const m = server.metrics;
      log.info("stopped", {
        received: m.objectsReceived,
        stored: m.objectsStored,
        spooled: m.objectsSpooled,
      });
    }));
}
