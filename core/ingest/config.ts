import { join } from "node:path";
import {
  type ConfigData,
  ConfigError,
  loadConfigFile,
  parse,
  resolveSettings,
} from "../config/mod.ts";
import { hostPort, maxPerAddressSetting, type PeerIdentity, type TlsMaterial } from "../net/mod.ts";
import { certPaths, loadServerTls, revocationCheck } from "../pki/mod.ts";
import { metricsSettings } from "../metrics/mod.ts";
import { LAYOUTS } from "./layout.ts";
import type { IngestOptions } from "./server.ts";
import { errorText } from "../log/mod.ts";

/** The default ingest port, as the replaced daemon used. */
export const DEFAULT_INGEST_PORT = 1191;

/**
 * Where each setting comes from: flag, `SOCKKIT_INGEST_*` environment
 * variable, and the key in the config file. `[daemon]`, `[path]` and
 * `[redis]` are the replaced daemon's `conf/daemon.conf` layout, read
 * unchanged; `[ingest]` holds sockkit's additions.
 */
export const INGEST_SETTINGS = {
  host: {
    parse: parse.string,
    flag: "--host",
    arg: "<addr>",
    help: "address to bind",
    env: "SOCKKIT_INGEST_HOST",
    file: "daemon.host",
    default: "0.0.0.0",
  },
  port: {
    parse: parse.port,
    flag: "--port",
    arg: "<n>",
    help: "port",
    env: "SOCKKIT_INGEST_PORT",
    file: "daemon.port",
    default: DEFAULT_INGEST_PORT,
  },
  certs: {
    parse: parse.string,
    flag: "--certs",
    arg: "<dir>",
    help: "certificates directory",
    defaultHelp: "certs",
    env: "SOCKKIT_CERTS",
    file: "path.certs_dir",
  },
  cert: {
    parse: parse.string,
    flag: "--cert",
    arg: "<file>",
    help: "server certificate",
    file: "path.server_crt_path",
  },
  key: {
    parse: parse.string,
    flag: "--key",
    arg: "<file>",
    help: "server key",
    file: "path.server_key_path",
  },
  clientCerts: {
    parse: parse.string,
    flag: "--client-certs",
    arg: "<path>",
    help: "client allow-list: PEM bundle or directory",
    file: "path.client_certs_path",
  },
  redis: {
    parse: parse.string,
    flag: "--redis",
    arg: "<url>",
    help: "Redis URL",
    defaultHelp: "redis://127.0.0.1:6379, or [redis] host and port",
    env: "SOCKKIT_REDIS_URL",
    file: "redis.url",
  },
  redisHost: { parse: parse.string, file: "redis.host" },
  redisPort: { parse: parse.port, file: "redis.port" },
  redisCluster: {
    parse: parse.list(parse.string),
    flag: "--redis-cluster",
    arg: "<urls>",
    help: "Redis Cluster node URLs, comma-separated",
    env: "SOCKKIT_REDIS_CLUSTER",
    file: "redis.cluster",
  },
  db: {
    parse: parse.integer(0, 65535),
    flag: "--db",
    arg: "<n>",
    help: "Redis database number",
    env: "SOCKKIT_REDIS_DB",
    file: "redis.db",
  },
  layout: {
    parse: parse.oneOf(LAYOUTS),
    flag: "--layout",
    arg: "<layout>",
    help: "storage layout: kv or stream",
    env: "SOCKKIT_INGEST_LAYOUT",
    file: "ingest.layout",
    default: "kv" as const,
  },
  keyPrefix: {
    parse: (v: unknown) => String(v),
    flag: "--key-prefix",
    arg: "<prefix>",
    help: "prefix for every key",
    defaultHelp: "none",
    env: "SOCKKIT_INGEST_KEY_PREFIX",
    file: "ingest.key_prefix",
    default: "",
  },
  streamKey: {
    parse: parse.string,
    flag: "--stream-key",
    arg: "<key>",
    help: "stream key for --layout stream",
    env: "SOCKKIT_INGEST_STREAM_KEY",
    file: "ingest.stream_key",
    default: "ingest",
  },
  streamMaxlen: {
    parse: parse.integer(1),
    flag: "--stream-maxlen",
    arg: "<n>",
    help: "trim the stream with MAXLEN ~ N",
    env: "SOCKKIT_INGEST_STREAM_MAXLEN",
    file: "ingest.stream_maxlen",
  },
  ack: {
    parse: parse.boolean,
    flag: "--ack",
    help: 'write {"ok":N} / {"error":...} lines to clients; without it the daemon never writes',
    env: "SOCKKIT_INGEST_ACK",
    file: "ingest.ack",
    default: false,
  },
  maxPayload: {
    parse: parse.positiveBytes,
    flag: "--max-payload",
    arg: "<bytes>",
    help: "largest object",
    defaultHelp: "1MiB",
    env: "SOCKKIT_INGEST_MAX_PAYLOAD",
    file: "ingest.max_payload",
    default: 1024 * 1024,
  },
  spoolDir: {
    parse: parse.string,
    flag: "--spool-dir",
    arg: "<dir>",
    help: "disk spool for Redis outages",
    env: "SOCKKIT_INGEST_SPOOL_DIR",
    file: "ingest.spool_dir",
    default: "spool/ingest",
  },
  spoolMax: {
    parse: parse.bytes,
    flag: "--spool-max",
    arg: "<bytes>",
    help: "spool size cap; a full spool pauses clients",
    defaultHelp: "1GiB",
    env: "SOCKKIT_INGEST_SPOOL_MAX",
    file: "ingest.spool_max",
    default: 1024 ** 3,
  },
  tlsMaxVersion: {
    parse: parse.oneOf(["1.2", "1.3"]),
    flag: "--tls-max-version",
    arg: "<v>",
    help:
      "highest TLS version, 1.2 or 1.3 (with 1.3, a client that closes without reading resets the connection and unread objects are lost in the kernel)",
    env: "SOCKKIT_INGEST_TLS_MAX_VERSION",
    file: "ingest.tls_max_version",
    default: "1.2" as const,
  },
  ...maxPerAddressSetting("ingest", "ingest.max_per_address"),
  ...metricsSettings("ingest", "ingest"),
  /**
   * The replaced daemon's `conf/log.conf` `[log] filepath`: the log file when
   * neither `--log-file` nor `SOCKKIT_LOG_FILE` names one (relative to the
   * working directory, as it was for the daemon).
   */
  logFile: { parse: parse.string, file: "log.filepath" },
} as const;

/** Flag values as parsed by the command (`undefined` = not given). */
export type IngestFlags = { [K in keyof typeof INGEST_SETTINGS]?: unknown };

/** Resolved settings, before certificates are loaded. */
export type IngestSettings = ReturnType<typeof resolveIngestSettings>;

/** Resolves settings from flags, environment, the config file and defaults. */
export function resolveIngestSettings(
  flags: IngestFlags,
  file?: ConfigData,
  filePath?: string,
  onWarning?: (message: string) => void,
) {
  return resolveSettings(INGEST_SETTINGS, {
    flags: flags as Record<string, unknown>,
    ...(onWarning ? { onWarning } : {}),
    ...(file ? { file } : {}),
    ...(filePath ? { filePath } : {}),
  });
}

/** Loads the config file (a file or a directory of files, merged) when a path is given. */
export async function loadIngestConfig(path: string | undefined): Promise<ConfigData | undefined> {
  return path === undefined ? undefined : await loadConfigFile(path, "auto");
}

/** The Redis URL: `--redis`, else `[redis] host`/`port` of the config file, else localhost. */
export function redisUrlOf(s: IngestSettings): string {
  if (s.redis) return s.redis;
  return `redis://${hostPort(s.redisHost ?? "127.0.0.1", s.redisPort ?? 6379)}`;
}

async function isDir(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isDirectory;
  } catch {
    return false;
  }
}

/**
 * Loads the server's TLS material and the revocation hook. Certificates come
 * from `--cert/--key/--client-certs`, else the certificates directory
 * (`--certs`/`SOCKKIT_CERTS`), else the config file's `[path]` keys, else the
 * directory `certs`. A certificates directory's `revoked.json` is honoured. `client_certs_path` may be one PEM bundle or a
 * directory of PEM files (every `*.pem`, `*.crt`, `*.cer` is allowed).
 */
export async function loadIngestTls(
  s: IngestSettings,
  flags: IngestFlags,
  onWarning?: (message: string) => void,
): Promise<{
  tls: TlsMaterial;
  authorize?: (peer: PeerIdentity) => string | undefined;
  source: string;
}> {
  const fromFlags = flags.cert !== undefined || flags.key !== undefined ||
    flags.clientCerts !== undefined;
  const anyFile = s.cert !== undefined || s.key !== undefined || s.clientCerts !== undefined;
  // Explicit files win; a certificates directory (flag, env) beats [path] keys of the file.
  if (fromFlags || (s.certs === undefined && anyFile)) {
    const missing = [
      s.cert === undefined ? "--cert (server_crt_path)" : "",
      s.key === undefined ? "--key (server_key_path)" : "",
      s.clientCerts === undefined ? "--client-certs (client_certs_path)" : "",
    ].filter(Boolean);
    if (missing.length > 0) {
      throw new ConfigError(
        `Incomplete certificate settings: missing ${
          missing.join(", ")
        } (give all three, or --certs DIR)`,
      );
    }
    const files = { cert: s.cert!, key: s.key!, ...(onWarning ? { onWarning } : {}) };
    const allow = s.clientCerts!;
    if (!(await isDir(allow))) {
      return { tls: await loadServerTls({ ...files, clientCerts: allow }), source: allow };
    }
    const names: string[] = [];
    try {
      for await (const e of Deno.readDir(allow)) {
        if (e.isFile && /\.(pem|crt|cer)$/i.test(e.name)) names.push(e.name);
      }
    } catch (err) {
      throw new ConfigError(
        `Cannot read client certificates from "${allow}": ${
          errorText(err)
        } (check the directory's permissions)`,
        { cause: err },
      );
    }
    if (names.length === 0) {
      throw new ConfigError(
        `Cannot read client certificates from "${allow}": the directory has no .pem, .crt or .cer files`,
      );
    }
    const tls = await loadServerTls(files);
    tls.clientCa = [];
    tls.clientPins = [];
    for (const name of names.sort()) {
      const one = await loadServerTls({
        cert: files.cert,
        key: files.key,
        clientCerts: join(allow, name),
      });
      // the directory's ca.pem is loaded beside every file: keep one copy
      tls.clientCa.push(...(one.clientCa ?? []).filter((c) => !tls.clientCa!.includes(c)));
      tls.clientPins.push(...(one.clientPins ?? []));
    }
    return { tls, source: allow };
  }
  const dir = s.certs ?? "certs";
  const p = certPaths(dir);
  const tls = await loadServerTls({
    cert: p.serverCert,
    key: p.serverKey,
    clientCerts: p.allowList,
    ...(onWarning ? { onWarning } : {}),
  });
  return { tls, authorize: revocationCheck(p.revoked), source: dir };
}

/** Builds `startIngest` options from resolved settings and loaded TLS. */
export function ingestOptions(
  s: IngestSettings,
  tls: { tls: TlsMaterial; authorize?: (peer: PeerIdentity) => string | undefined },
): IngestOptions {
  const cluster = s.redisCluster && s.redisCluster.length > 0 ? s.redisCluster : undefined;
  return {
    host: s.host,
    port: s.port,
    tls: tls.tls,
    ...(tls.authorize ? { authorize: tls.authorize } : {}),
    ...(cluster
      ? { redisCluster: cluster.map((u) => u.includes("://") ? u : `redis://${u}`) }
      : { redisUrl: redisUrlOf(s) }),
    ...(s.db !== undefined ? { db: s.db } : {}),
    layout: s.layout,
    keyPrefix: s.keyPrefix,
    streamKey: s.streamKey,
    ...(s.streamMaxlen !== undefined ? { streamMaxlen: s.streamMaxlen } : {}),
    ack: s.ack,
    maxPayload: s.maxPayload,
    spoolDir: s.spoolDir,
    spoolMax: s.spoolMax,
    tlsMaxVersion: s.tlsMaxVersion === "1.3" ? "TLSv1.3" : "TLSv1.2",
    maxPerAddress: s.maxPerAddress,
    ipv6Prefix: s.ipv6Prefix,
  };
}
