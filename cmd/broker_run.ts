/**
 * `broker serve` and `broker connect`: run a server or client connector
 * until SIGINT/SIGTERM or `broker stop`. Settings (in `broker_settings.ts`):
 * flags > `SOCKKIT_BROKER_*` environment > `[broker]` section of
 * `--config FILE` > defaults.
 */
import { Command } from "@commander-js/extra-typings";
import { join, resolve } from "node:path";
import { ConfigError, type SettingSpec } from "../core/config/mod.ts";
import { shutdownSignal, startOps } from "../core/lifecycle/mod.ts";
import { DaemonMetrics } from "../core/metrics/mod.ts";
import type { Logger } from "../core/log/mod.ts";
import {
  type AioRole,
  BrokerClient,
  type Connector,
  PubSubRule,
  runConnector,
  SOCKET_NAME,
  startClientConnector,
  startServerConnector,
} from "../core/broker/mod.ts";
import { clusterNames, ClusterNode } from "../core/broker/cluster/mod.ts";
import { action, globals, loggerFrom } from "./_cli.ts";
import type { settingsOf } from "./_settings.ts";
import {
  baseOptions,
  brokerConfigTemplate,
  CONNECT,
  readBrokerSettings,
  SERVE,
  withBrokerSettings,
} from "./broker_settings.ts";

/** The state directory a command uses: `--dir`, `SOCKKIT_BROKER_DIR`, or `./broker-state`. */
export function stateDir(flag: string | undefined): string {
  return resolve(flag ?? Deno.env.get("SOCKKIT_BROKER_DIR") ?? "broker-state");
}

/** Connects to the local API socket of the connector whose state directory `--dir` names. */
export function localClient(dir: string | undefined): Promise<BrokerClient> {
  return BrokerClient.connect(join(stateDir(dir), SOCKET_NAME));
}

/** What `serve` and `connect` do differently around the run they share. */
interface ConnectorRun<S extends Record<string, SettingSpec<unknown>>> {
  role: AioRole;
  /** Checks the settings (a `ConfigError` for a missing one); returns the command's logger. */
  check(s: ReturnType<typeof settingsOf<S>>, log: Logger): Logger;
  /** Starts the connector and logs that it did; what must close after it goes on `stack`. */
  start(
    s: ReturnType<typeof settingsOf<S>>,
    ctx: { log: Logger; metrics: DaemonMetrics; stack: AsyncDisposableStack },
  ): Promise<Connector>;
  /** SIGHUP reloads through the connector's admin reload (which logs and serializes itself). */
  reload?: boolean;
}

/**
 * A command that reads `specs`, starts a connector as `run` says, serves
 * metrics and health (and SIGHUP reload), and runs it until a signal or stop.
 */
function connectorCommand<S extends typeof SERVE | typeof CONNECT>(
  name: string,
  description: string,
  specs: S,
  run: ConnectorRun<S>,
): Command {
  return withBrokerSettings(new Command(name).description(description), specs)
    .action(action(async (opts: Record<string, unknown>, cmd: Command) => {
      using stop = shutdownSignal();
      let base: Logger | undefined;
      const baseLog = () => base ??= loggerFrom(globals(cmd), { svc: "broker" });
      const { s, warning } = await readBrokerSettings(specs, cmd, {
        config: opts.config,
        role: run.role,
        log: baseLog,
      });
      const log = run.check(s, baseLog());
      if (warning) log.warn(warning);
      const metrics = new DaemonMetrics("broker");
      await using stack = new AsyncDisposableStack();
      const c = await run.start(s, { log, metrics, stack });
      // both tables hold the metrics settings; TypeScript cannot resolve them through S
      const { metricsPort, metricsHost } = s as { metricsPort?: number; metricsHost?: string };
      await using _ops = startOps({
        logger: log,
        metrics,
        metricsPort,
        metricsHost,
        ready: () => c.admin.ready(),
        ...(run.reload ? { reload: () => c.admin.reload(), reloadSerialized: true } : {}),
      });
      await runConnector(c, { signal: stop, logger: log });
      return 0;
    }));
}

/** `broker serve`. */
export function serveCommand(): Command {
  return connectorCommand(
    "serve",
    "run the server connector: accepts client connectors over mutual TLS",
    SERVE,
    {
      role: "server",
      check: (_s, log) => log,
      async start(s, { log, metrics, stack }) {
        const cluster = stack.use(
          await joinCluster(s, log),
        );
        const c = await startServerConnector(s.certs, {
          ...baseOptions(s),
          daemonMetrics: metrics,
          name: s.name,
          dir: resolve(s.dir),
          logger: log,
          queueForUnknown: s.queueForUnknown,
          maxUnknownJournals: s.maxUnknownJournals,
          stallMs: s.stallTimeout,
          host: s.host,
          port: s.port,
          pubsubRule: await loadRule(s.pubsubRule),
          clientFilter: { allow: s.allow, deny: s.deny },
          maxPerAddress: s.maxPerAddress,
          ipv6Prefix: s.ipv6Prefix,
          cluster,
        });
        log.info("listening", {
          name: s.name,
          address: s.host,
          port: c.port,
          socket: c.socketPath,
        });
        return c;
      },
      reload: true,
    },
  );
}

/**
 * Joins the cluster of `--cluster` (usage error, exit 2, without
 * `--cluster-name`); its local copies' watch failures go to `log`.
 */
async function joinCluster(
  s: {
    cluster?: string | undefined;
    clusterName?: string | undefined;
    name: string;
    clusterReplicas: number;
    persistMax: number;
  },
  log: Logger,
): Promise<ClusterNode | undefined> {
  const { cluster: urls, clusterName: name, name: server } = s;
  if (urls === undefined) {
    if (name !== undefined) {
      throw new ConfigError("--cluster-name needs --cluster: the nats-server addresses");
    }
    return undefined;
  }
  if (name === undefined) {
    throw new ConfigError("Missing --cluster-name: the name of the cluster this server joins");
  }
  const servers = urls.split(",").map((u) => u.trim()).filter((u) => u !== "");
  try {
    clusterNames(name);
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
  return await ClusterNode.open({
    servers,
    cluster: name,
    server,
    replicas: s.clusterReplicas,
    maxBytes: s.persistMax,
    log,
  });
}

/** Reads `--pubsub-rule` (a usage error, exit 2, when unreadable or malformed). */
async function loadRule(path: string | undefined): Promise<PubSubRule | undefined> {
  if (path === undefined) return undefined;
  try {
    return await PubSubRule.load(resolve(path));
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
}

/** `broker connect`. */
export function connectCommand(): Command {
  return connectorCommand(
    "connect",
    "run a client connector: keeps a mutual-TLS link to the server connector",
    CONNECT,
    {
      role: "client",
      check(s, log) {
        if (s.name === undefined) {
          throw new ConfigError("Missing --name: the client connector's name (its certificate CN)");
        }
        if (s.server === undefined || s.server.length === 0) {
          throw new ConfigError("Missing --server: the server connector's HOST:PORT");
        }
        return log.child({ name: s.name });
      },
      async start(s, { log, metrics }) {
        const name = s.name!;
        const server = s.server!;
        const c = await startClientConnector(s.certs, {
          ...baseOptions(s),
          daemonMetrics: metrics,
          name,
          dir: resolve(s.dir),
          logger: log,
          server: server[0]!,
          fallbacks: server.slice(1),
          serverName: s.serverConnector,
          servername: s.servername,
          cert: s.cert,
          key: s.key,
          ca: s.ca,
        });
        log.info("client connector started", { name, socket: c.socketPath });
        return c;
      },
    },
  );
}

/** `broker config-template`: a commented config file of every broker setting. */
export function configTemplateCommand(): Command {
  return new Command("config-template")
    .description(
      "print a commented TOML config file with every broker setting, its flag, environment variable and default",
    )
    .action(() => console.log(brokerConfigTemplate()));
}
