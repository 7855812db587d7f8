/**
 * The settings of `broker serve` and `broker connect`, declared once: flags,
 * `SOCKKIT_BROKER_*` environment, the `[broker]` section of `--config FILE`
 * (or an aioconnectors JSON config), defaults; reading them, and the
 * commented config file of all of them.
 */
import type { Command } from "@commander-js/extra-typings";
import { resolve } from "node:path";
import {
  type ConfigData,
  configTemplate,
  loadConfigFile,
  parse,
  type SettingSpec,
  type TemplateEntry,
} from "../core/config/mod.ts";
import { metricsSettings } from "../core/metrics/mod.ts";
import {
  type AioRole,
  type ConnectorOptions,
  DEFAULT_BROKER_PORT,
  DEFAULT_MAX_FRAME,
  DEFAULT_MAX_TRANSFER_BYTES,
  DEFAULT_PERSIST_MAX,
  loadAioconnectorsConfig,
  ON_EXISTS,
  type OnExists,
  parseFilterEntry,
} from "../core/broker/mod.ts";
import type { Logger } from "../core/log/mod.ts";
import { maxPerAddressSetting } from "../core/net/mod.ts";
import { settingsOf, withSettings } from "./_settings.ts";

/** `TYPE=VALUE` pairs (a list, or comma-separated) → a map; `what` names VALUE in errors. */
function typeMap<T>(what: string, value: (v: string) => T): parse.Parser<Record<string, T>> {
  return (raw) => {
    const out: Record<string, T> = {};
    for (const item of parse.list(parse.string)(raw)) {
      const i = item.indexOf("=");
      if (i <= 0 || i === item.length - 1) {
        throw new TypeError(`expected TYPE=${what}, got "${item}"`);
      }
      try {
        out[item.slice(0, i)] = value(item.slice(i + 1));
      } catch (err) {
        throw new TypeError(`expected TYPE=${what} in "${item}": ${(err as Error).message}`);
      }
    }
    return out;
  };
}

/** `TYPE=PATH` pairs → a map of absolute paths. */
const fileDirs = typeMap("PATH", (p) => resolve(p));

/** `TYPE=N` pairs → a map of priorities (higher leaves first). */
const priorities = typeMap("N", (n) => parse.integer(-1_000_000_000, 1_000_000_000)(n));

/** Client filter entries (`name:N`, `ip:A`, `subnet:A/BITS`), a list or comma-separated. */
const filterEntries: parse.Parser<string[]> = (raw) => {
  const entries = parse.list(parse.string)(raw);
  for (const e of entries) parseFilterEntry(e);
  return entries;
};

const COMMON = {
  certs: {
    parse: parse.string,
    flag: "--certs",
    arg: "<dir>",
    help: "certificates directory, from sockkit certs init",
    env: "SOCKKIT_BROKER_CERTS",
    file: "broker.certs",
    default: "certs",
  },
  dir: {
    parse: parse.string,
    flag: "--dir",
    arg: "<dir>",
    help: "state directory: journals, queues, local socket",
    env: "SOCKKIT_BROKER_DIR",
    file: "broker.dir",
    default: "broker-state",
  },
  persistMax: {
    parse: parse.positiveBytes,
    flag: "--persist-max",
    arg: "<bytes>",
    help: "size cap of each peer journal and type queue",
    defaultHelp: "1GiB",
    env: "SOCKKIT_BROKER_PERSIST_MAX",
    file: "broker.persist_max",
    default: DEFAULT_PERSIST_MAX,
  },
  maxFrame: {
    parse: parse.positiveBytes,
    flag: "--max-frame",
    arg: "<bytes>",
    help: "frame size cap",
    defaultHelp: "16MiB",
    env: "SOCKKIT_BROKER_MAX_FRAME",
    file: "broker.max_frame",
    default: DEFAULT_MAX_FRAME,
  },
  fileDir: {
    parse: fileDirs,
    flag: "--file-dir",
    arg: "<TYPE=PATH>",
    help: "store received files of TYPE under PATH",
    repeatable: true,
    env: "SOCKKIT_BROKER_FILE_DIRS",
    file: "broker.file_dirs",
    default: {},
  },
  priority: {
    parse: priorities,
    flag: "--priority",
    arg: "<TYPE=N>",
    help: "messages of TYPE leave a peer's queue before those of lower N; unlisted types 0",
    repeatable: true,
    env: "SOCKKIT_BROKER_PRIORITIES",
    file: "broker.priorities",
    default: {},
  },
  maxFileSize: {
    parse: parse.positiveBytes,
    flag: "--max-file-size",
    arg: "<bytes>",
    help:
      "most bytes one received file transfer (a file, or a directory's files) may bring; more is refused and its partial files removed",
    defaultHelp: "8GiB",
    env: "SOCKKIT_BROKER_MAX_FILE_SIZE",
    file: "broker.max_file_size",
    default: DEFAULT_MAX_TRANSFER_BYTES,
  },
  onExists: {
    parse: parse.oneOf(ON_EXISTS),
    flag: "--on-exists",
    arg: "<policy>",
    help: "a received file whose name is taken: rename (NAME.1, NAME.2...), overwrite or refuse",
    env: "SOCKKIT_BROKER_ON_EXISTS",
    file: "broker.on_exists",
    default: "rename" as OnExists,
  },
  heartbeat: {
    parse: parse.duration,
    flag: "--heartbeat",
    arg: "<duration>",
    help: "heartbeat interval; a link silent 3x this is dropped",
    defaultHelp: "5s",
    env: "SOCKKIT_BROKER_HEARTBEAT",
    file: "broker.heartbeat",
    default: 5000,
  },
  fsync: {
    parse: parse.boolean,
    flag: "--no-fsync",
    help: "do not fdatasync journal appends (faster, less durable)",
    env: "SOCKKIT_BROKER_FSYNC",
    file: "broker.fsync",
    default: true,
  },
  ackTimeout: {
    parse: parse.duration,
    flag: "--ack-timeout",
    arg: "<duration>",
    help:
      "close a link whose peer acknowledges nothing for this long while messages wait (they are journaled and sent again on the next link); 0 = off",
    defaultHelp: "60s",
    env: "SOCKKIT_BROKER_ACK_TIMEOUT",
    file: "broker.ack_timeout",
    default: 60_000,
  },
  ...metricsSettings("broker", "broker"),
} as const;

/** The settings of `broker serve`. */
export const SERVE = {
  ...COMMON,
  allow: {
    parse: filterEntries,
    flag: "--allow",
    arg: "<entry>",
    help: "admit only clients on the allow list: name:N, ip:ADDRESS or subnet:ADDRESS/BITS",
    repeatable: true,
    env: "SOCKKIT_BROKER_ALLOW",
    file: "broker.allow",
    default: [] as string[],
  },
  deny: {
    parse: filterEntries,
    flag: "--deny",
    arg: "<entry>",
    help: "refuse clients on the deny list: name:N, ip:ADDRESS or subnet:ADDRESS/BITS",
    repeatable: true,
    env: "SOCKKIT_BROKER_DENY",
    file: "broker.deny",
    default: [] as string[],
  },
  port: {
    parse: parse.port,
    flag: "--port",
    arg: "<port>",
    help: "TCP port",
    env: "SOCKKIT_BROKER_PORT",
    file: "broker.port",
    default: DEFAULT_BROKER_PORT,
  },
  host: {
    parse: parse.string,
    flag: "--host",
    arg: "<host>",
    help: "address to bind",
    env: "SOCKKIT_BROKER_HOST",
    file: "broker.host",
    default: "0.0.0.0",
  },
  name: {
    parse: parse.string,
    flag: "--name",
    arg: "<name>",
    help: "this connector's name, the clients' destination",
    env: "SOCKKIT_BROKER_NAME",
    file: "broker.name",
    default: "server",
  },
  queueForUnknown: {
    parse: parse.boolean,
    flag: "--queue-for-unknown",
    help:
      "journal messages for client names that never connected, which are otherwise refused as a likely typo",
    env: "SOCKKIT_BROKER_QUEUE_FOR_UNKNOWN",
    file: "broker.queue_for_unknown",
    default: false,
  },
  maxUnknownJournals: {
    parse: parse.integer(1, 1_000_000),
    flag: "--max-unknown-journals",
    arg: "<n>",
    help:
      "with --queue-for-unknown: most journals for client names that never connected (each holds a file open; one sender may make 64)",
    env: "SOCKKIT_BROKER_MAX_UNKNOWN_JOURNALS",
    file: "broker.max_unknown_journals",
    default: 1024,
  },
  stallTimeout: {
    parse: parse.positiveDuration,
    flag: "--stall-timeout",
    arg: "<duration>",
    help: "close a congested subscriber link that takes under 64 KiB in this long",
    defaultHelp: "5s",
    env: "SOCKKIT_BROKER_STALL_TIMEOUT",
    file: "broker.stall_timeout",
    default: 5000,
  },
  pubsubRule: {
    parse: parse.string,
    flag: "--pubsub-rule",
    arg: "<file>",
    help: "JSON rule of who may publish, subscribe and send client-to-client",
    defaultHelp: "any client",
    env: "SOCKKIT_BROKER_PUBSUB_RULE",
    file: "broker.pubsub_rule",
  },
  cluster: {
    parse: parse.string,
    flag: "--cluster",
    arg: "<urls>",
    help:
      "join a broker cluster through these nats-server (JetStream) addresses, nats://HOST:PORT[,...]",
    env: "SOCKKIT_BROKER_CLUSTER",
    file: "broker.cluster",
  },
  clusterName: {
    parse: parse.string,
    flag: "--cluster-name",
    arg: "<name>",
    help: "the cluster's name; required with --cluster",
    env: "SOCKKIT_BROKER_CLUSTER_NAME",
    file: "broker.cluster_name",
  },
  clusterReplicas: {
    parse: parse.integer(1, 5),
    flag: "--cluster-replicas",
    arg: "<n>",
    help: "copies of each stored message across the NATS cluster's JetStream nodes, 1, 3 or 5",
    env: "SOCKKIT_BROKER_CLUSTER_REPLICAS",
    file: "broker.cluster_replicas",
    default: 1,
  },
  ...maxPerAddressSetting("broker", "broker.max_per_address"),
} as const;

/** The settings of `broker connect`. */
export const CONNECT = {
  ...COMMON,
  name: {
    parse: parse.string,
    flag: "--name",
    arg: "<name>",
    help: "this connector's name (must match its certificate CN); required",
    env: "SOCKKIT_BROKER_NAME",
    file: "broker.name",
  },
  server: {
    parse: parse.list(parse.hostPort(DEFAULT_BROKER_PORT)),
    flag: "--server",
    arg: "<host:port>",
    help:
      "server connector address; required; more addresses (repeat it, or separate with commas) are other servers of a cluster, tried in order",
    repeatable: true,
    env: "SOCKKIT_BROKER_SERVER",
    file: "broker.server",
  },
  serverConnector: {
    parse: parse.string,
    flag: "--server-connector",
    arg: "<name>",
    help: "the server connector's name, as in its --name",
    env: "SOCKKIT_BROKER_SERVER_CONNECTOR",
    file: "broker.server_connector",
    default: "server",
  },
  servername: {
    parse: parse.string,
    flag: "--servername",
    arg: "<name>",
    help: "name to verify in the server certificate",
    env: "SOCKKIT_BROKER_SERVERNAME",
    file: "broker.servername",
    default: "localhost",
  },
  cert: {
    parse: parse.string,
    flag: "--cert",
    arg: "<file>",
    help: "client certificate",
    defaultHelp: "CERTS/clients/NAME.pem",
    file: "broker.cert",
  },
  key: {
    parse: parse.string,
    flag: "--key",
    arg: "<file>",
    help: "client key",
    defaultHelp: "CERTS/clients/NAME.key",
    file: "broker.key",
  },
  ca: {
    parse: parse.string,
    flag: "--ca",
    arg: "<file>",
    help: "CA that signed the server certificate",
    defaultHelp: "CERTS/ca.pem",
    file: "broker.ca",
  },
} as const;

/** `cmd` with the settings of `specs` and `--config` (the file they may come from). */
export function withBrokerSettings(cmd: Command, specs: Record<string, SettingSpec<unknown>>) {
  return withSettings(cmd, specs)
    .option(
      "--config <file>",
      "TOML/INI config file (or directory) with a [broker] section, or an aioconnectors JSON config",
    )
    .addHelpText("after", "\nPrecedence: flags > environment > config file > defaults.");
}

/** The `--config` file: sockkit TOML/INI, or (`.json`) an aioconnectors config translated. */
async function configFile(
  path: unknown,
  role: AioRole,
): Promise<{ file?: ConfigData; filePath?: string; warning?: string }> {
  if (typeof path !== "string") return {};
  if (isAio(path)) {
    const aio = await loadAioconnectorsConfig(path, role);
    return { file: aio.data, filePath: path, ...(aio.warning ? { warning: aio.warning } : {}) };
  }
  return { file: await loadConfigFile(path), filePath: path };
}

/** An aioconnectors JSON config (translated, so its keys are not checked against ours). */
function isAio(path: unknown): boolean {
  return typeof path === "string" && path.toLowerCase().endsWith(".json");
}

/**
 * Reads `specs` for `cmd`: flags, environment, the `--config` file (`config`)
 * and defaults. Unknown keys of a sockkit config file are logged to `log` at
 * once; the note on an aioconnectors config's translation is returned as
 * `warning`, for the caller to log once it knows its logger.
 */
export async function readBrokerSettings<S extends Record<string, SettingSpec<unknown>>>(
  specs: S,
  cmd: Command,
  options: { config: unknown; role: AioRole; log: () => Logger },
): Promise<{ s: ReturnType<typeof settingsOf<S>>; warning?: string }> {
  const { warning, ...file } = await configFile(options.config, options.role);
  const s = settingsOf(specs, cmd, {
    ...file,
    ...(isAio(options.config) ? {} : { onWarning: (m: string) => options.log().warn(m) }),
  });
  return { s, ...(warning ? { warning } : {}) };
}

/** The connector options both commands take from their settings. */
export function baseOptions(
  s: {
    persistMax: number;
    maxFrame: number;
    fileDir: Record<string, string>;
    priority: Record<string, number>;
    onExists: OnExists;
    maxFileSize: number;
    heartbeat: number;
    fsync: boolean;
    ackTimeout: number;
  },
): Omit<ConnectorOptions, "name" | "dir"> {
  return {
    fsync: s.fsync,
    ackTimeoutMs: s.ackTimeout,
    persistMaxBytes: s.persistMax,
    maxFrameBytes: s.maxFrame,
    fileDirs: s.fileDir,
    priorities: s.priority,
    onExists: s.onExists,
    maxFileBytes: s.maxFileSize,
    heartbeatMs: s.heartbeat,
  };
}

/** Config-file wording where a setting's help reads wrong for the key (a `--no-` flag, a list). */
const KEY_HELP: Record<string, string> = {
  fsync: "fdatasync each journal append; false is faster and less durable",
  fileDir: 'received files of TYPE are stored under PATH, as ["TYPE=PATH", ...]',
  priority:
    'messages of TYPE leave a peer\'s queue before those of a lower N (unlisted: 0), as ["TYPE=N", ...]',
};

/** A commented TOML config file of every broker setting, its flag, environment variable and default. */
export function brokerConfigTemplate(): string {
  const entries: Record<string, TemplateEntry> = {};
  for (const [k, spec] of Object.entries({ ...CONNECT, ...SERVE })) {
    const s = spec as SettingSpec<unknown>;
    const role = !(k in CONNECT) ? " [serve only]" : !(k in SERVE) ? " [connect only]" : "";
    // the template shows a default as its commented-out value; one without a value is said here
    const def = s.default === undefined && s.defaultHelp ? ` (default ${s.defaultHelp})` : "";
    entries[k] = { spec: s, help: `${KEY_HELP[k] ?? `${s.help ?? k}${def}`}${role}` };
  }
  return configTemplate("sockkit broker", entries).trimEnd();
}
