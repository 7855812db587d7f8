/**
 * `sockkit ingest`: the mutual-TLS JSON ingest daemon (default action), its
 * client (`send`) and load generator (`bench`).
 */
import { Command, Option } from "@commander-js/extra-typings";
import { runDaemon } from "../core/lifecycle/mod.ts";
import { DaemonMetrics } from "../core/metrics/mod.ts";
import {
  ingestOptions,
  loadIngestConfig,
  loadIngestTls,
  reloadIngest,
  resolveIngestSettings,
  startIngest,
} from "../core/ingest/mod.ts";
import { LAYOUTS } from "../core/ingest/layout.ts";
import {
  action,
  globals,
  intArg,
  loggerFrom,
  METRICS_HOST_HELP,
  METRICS_PORT_HELP,
} from "./_cli.ts";
import { ingestBenchCommand, ingestSendCommand } from "./ingest_client.ts";
import { reloadCommand } from "./_reload.ts";

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
  return new Command("serve")
    .description(
      "Run the daemon (default): receive JSON objects over mutual TLS, store them in Redis",
    )
    .option("--config <path>", "TOML config file or directory (conf/daemon.conf layout)")
    .option("--host <addr>", "address to bind (default 0.0.0.0; [daemon] host)")
    .option("--port <n>", "port (default 1191; [daemon] port)", intArg(0, 65535))
    .option("--certs <dir>", "certificates directory (default certs; env SOCKKIT_CERTS)")
    .option("--cert <file>", "server certificate ([path] server_crt_path)")
    .option("--key <file>", "server key ([path] server_key_path)")
    .option(
      "--client-certs <path>",
      "client allow-list: PEM bundle or directory ([path] client_certs_path)",
    )
    .option("--redis <url>", "Redis URL (default redis://127.0.0.1:6379; [redis] host, port)")
    .option("--redis-cluster <urls>", "Redis Cluster node URLs, comma-separated")
    .option("--db <n>", "Redis database number ([redis] db)", intArg(0, 65535))
    .addOption(new Option("--layout <layout>", "storage layout (default kv)").choices(LAYOUTS))
    .option("--key-prefix <prefix>", "prefix for every key (default none)")
    .option("--stream-key <key>", "stream key for --layout stream (default ingest)")
    .option("--stream-maxlen <n>", "trim the stream with MAXLEN ~ N", intArg(1))
    .option("--ack", 'write {"ok":N} / {"error":...} lines to clients (default: silent)')
    .option("--max-payload <bytes>", "largest object (default 1MiB)")
    .option("--spool-dir <dir>", "disk spool for Redis outages (default spool/ingest)")
    .option("--spool-max <bytes>", "spool size cap; a full spool pauses clients (default 1GiB)")
    .option("--metrics-port <n>", METRICS_PORT_HELP, intArg(0, 65535))
    .option("--metrics-host <addr>", METRICS_HOST_HELP)
    .addOption(
      new Option(
        "--tls-max-version <v>",
        "highest TLS version (default 1.2: with 1.3, a client that closes without reading " +
          "resets the connection and unread objects are lost in the kernel)",
      ).choices(["1.2", "1.3"]),
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
      const log = loggerFrom(globals(cmd), { svc: "ingest" });
      const file = await loadIngestConfig(opts.config);
      const flags = { ...opts, config: undefined };
      const settings = resolveIngestSettings(flags, file, opts.config, (m) => log.warn(m));
      const tls = await loadIngestTls(settings, flags, (w) => log.warn(w));
      const metrics = new DaemonMetrics("ingest");
      const server = await startIngest({
        ...ingestOptions(settings, tls),
        daemonMetrics: metrics,
        logger: log,
      });
      log.info(`listening on ${settings.host}:${server.port} (mutual TLS)`, {
        redis: server.redisLabel,
        layout: settings.layout,
        certs: tls.source,
        ack: settings.ack,
        spool: settings.spoolDir,
      });
      await runDaemon(server, {
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
            authorize: tls.authorize,
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
