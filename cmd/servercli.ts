/**
 * `sockkit servercli`: the TLS line server that answers each line reversed
 * and broadcasts the date to every client; `servercli bench` measures it.
 */
import { Command } from "@commander-js/extra-typings";
import { ConfigError, parse } from "../core/config/mod.ts";
import { applyTls, ReloadableCheck, runDaemon, settingsReload } from "../core/lifecycle/mod.ts";
import { DaemonMetrics, metricsSettings } from "../core/metrics/mod.ts";
import {
  certPaths,
  loadServerTls,
  revocationCheck,
  serverCertFallback,
  type ServerCertFilesFor,
} from "../core/pki/mod.ts";
import { DATE_FORMATS, REPLACED_SERVER_CERT, startChatServer } from "../core/chat/mod.ts";
import type { Logger } from "../core/log/mod.ts";
import { maxPerAddressSetting, openFileLimit, type TlsMaterial } from "../core/net/mod.ts";
import { action, globals, loggerFrom } from "./_cli.ts";
import { servercliBenchCommand } from "./servercli_bench.ts";
import { reloadCommand } from "./_reload.ts";
import { settingsReader } from "./_settings_reload.ts";
import { withSettings } from "./_settings.ts";

const SPECS = {
  port: {
    parse: parse.port,
    flag: "--port",
    arg: "<port>",
    help: "port to listen on",
    env: "SOCKKIT_SERVERCLI_PORT",
    file: "servercli.port",
    default: 3443,
  },
  host: {
    parse: parse.string,
    flag: "--host",
    arg: "<host>",
    help: "address to bind",
    env: "SOCKKIT_SERVERCLI_HOST",
    file: "servercli.host",
    default: "0.0.0.0",
  },
  maxClients: {
    parse: parse.integer(1, 1_000_000),
    flag: "--max-clients",
    arg: "<n>",
    help: "clients served at once; one more gets an error line",
    env: "SOCKKIT_SERVERCLI_MAX_CLIENTS",
    file: "servercli.max_clients",
    default: 100,
  },
  lineTimeout: {
    parse: parse.duration,
    flag: "--line-timeout",
    arg: "<seconds>",
    help: "close a client whose partial line does not complete in time; 0 = off",
    defaultHelp: "30",
    env: "SOCKKIT_SERVERCLI_LINE_TIMEOUT",
    file: "servercli.line_timeout",
    default: 30_000,
  },
  ...maxPerAddressSetting(
    "servercli",
    "servercli.max_per_address",
    10,
    "clients at once from one IP address; 0 = no cap",
  ),
  capLoopback: {
    parse: parse.boolean,
    flag: "--cap-loopback",
    help: "count loopback clients against --max-per-address too",
    env: "SOCKKIT_SERVERCLI_CAP_LOOPBACK",
    file: "servercli.cap_loopback",
    default: false,
  },
  period: {
    parse: parse.positiveDuration,
    flag: "--period",
    arg: "<seconds>",
    help: "seconds between date broadcasts; 500ms also works",
    defaultHelp: "10",
    env: "SOCKKIT_SERVERCLI_PERIOD",
    file: "servercli.period",
    default: 10_000,
  },
  dateFormat: {
    parse: parse.oneOf(DATE_FORMATS),
    flag: "--date-format",
    arg: "<format>",
    help: "date: YYYY-MM-DD, or iso: an ISO 8601 timestamp",
    env: "SOCKKIT_SERVERCLI_DATE_FORMAT",
    file: "servercli.date_format",
    default: "date" as const,
  },
  json: {
    parse: parse.boolean,
    flag: "--json",
    help: 'send JSON lines {"msg_type":"date"|"string"|"error","payload":...}',
    env: "SOCKKIT_SERVERCLI_JSON",
    file: "servercli.json",
    default: false,
  },
  requireClientCert: {
    parse: parse.boolean,
    flag: "--require-client-cert",
    help: "mutual TLS: refuse clients without an allow-listed certificate",
    env: "SOCKKIT_SERVERCLI_REQUIRE_CLIENT_CERT",
    file: "servercli.require_client_cert",
    default: false,
  },
  maxLine: {
    parse: parse.positiveBytes,
    flag: "--max-line",
    arg: "<bytes>",
    help: "longest line accepted; longer gets an error line and a close",
    env: "SOCKKIT_SERVERCLI_MAX_LINE",
    file: "servercli.max_line",
    default: 4096,
  },
  certs: {
    parse: parse.string,
    flag: "--certs",
    arg: "<dir>",
    help:
      'certificates directory made by "sockkit certs init" (if it has none: certs/my.crt, certs/my.key)',
    env: "SOCKKIT_CERTS",
    file: "servercli.certs",
    default: "certs",
  },
  cert: {
    parse: parse.string,
    flag: "--cert",
    arg: "<file>",
    help: "server certificate, instead of --certs",
    env: "SOCKKIT_SERVERCLI_CERT",
    file: "servercli.cert",
  },
  key: {
    parse: parse.string,
    flag: "--key",
    arg: "<file>",
    help: "server private key, with --cert",
    env: "SOCKKIT_SERVERCLI_KEY",
    file: "servercli.key",
  },
  clientCerts: {
    parse: parse.string,
    flag: "--client-certs",
    arg: "<file>",
    help: "client allow-list PEM for --require-client-cert, with --cert",
    env: "SOCKKIT_SERVERCLI_CLIENT_CERTS",
    file: "servercli.client_certs",
  },
  ...metricsSettings("servercli", "servercli"),
};

/** Settings a reload applies; other changes are logged as needing a restart. */
const RELOADABLE = ["certs", "cert", "key", "clientCerts"];

/** Builds the `servercli` command (and its `bench` subcommand). */
export function servercliCommand(): Command {
  const cmd = withSettings(
    new Command("servercli")
      .description(
        "TLS line server: answers every line reversed by grapheme cluster (trailing whitespace " +
          "removed) and sends the date to every connected client each period.",
      )
      .option("--config <file>", "TOML/INI config file with a [servercli] section"),
    SPECS,
  )
    .addHelpText(
      "after",
      "\nPrecedence: flags > environment > config file > defaults. Dates are UTC.\n\n" +
        "Example:\n  sockkit certs init && sockkit servercli --period 5\n" +
        "  sockkit clientcli   # in another terminal",
    )
    .action(action(async (opts, command) => {
      const log = loggerFrom(globals(command), { svc: "servercli" });
      const settings = settingsReader(SPECS, command, {
        config: opts.config,
        onWarning: (m) => log.warn(m),
      });
      const s = await settings();
      const replaced = { defaultDir: SPECS.certs.default, replaced: REPLACED_SERVER_CERT };
      // one per process: a reload that falls back again does not log it again
      const tlsContext = { log, certFiles: serverCertFallback({ ...replaced, logger: log }) };
      const { tls, revoked } = await serverTls(s, tlsContext);
      // a reload puts the revocation list of the certificates directory it loads in force
      const check = new ReloadableCheck(revoked ? revocationCheck(revoked) : undefined);
      const metrics = new DaemonMetrics("servercli");
      const server = await startChatServer({
        host: s.host,
        port: s.port,
        tls,
        requireClientCert: s.requireClientCert,
        authorize: check.authorize,
        maxClients: s.maxClients,
        periodMs: s.period,
        dateFormat: s.dateFormat,
        json: s.json,
        maxLineBytes: s.maxLine,
        lineTimeoutMs: s.lineTimeout,
        maxPerAddress: s.maxPerAddress,
        ipv6Prefix: s.ipv6Prefix,
        capLoopback: s.capLoopback,
        logger: log,
        daemonMetrics: metrics,
      });
      const limit = await openFileLimit();
      if (limit && limit.soft < s.maxClients + 64) {
        log.warn("open-file limit too low for --max-clients: connections beyond it will fail", {
          limit: limit.soft,
          maxClients: s.maxClients,
          fix: limit.hard >= s.maxClients + 64
            ? `ulimit -n ${s.maxClients + 64} before starting (LimitNOFILE= in a systemd unit)`
            : `the hard limit is ${limit.hard}: raise it as root (LimitNOFILE= in a systemd unit)`,
        });
      }
      await runDaemon(server, {
        started: () =>
          log.info("listening", {
            host: server.host,
            port: server.port,
            maxClients: s.maxClients,
            periodMs: s.period,
            dateFormat: s.dateFormat,
            json: s.json,
            requireClientCert: s.requireClientCert,
          }),
        logger: log,
        metrics,
        metricsPort: s.metricsPort,
        metricsHost: s.metricsHost,
        ready: () => server.ready(),
        reload: settingsReload(s, {
          read: settings,
          reloadable: RELOADABLE,
          apply: async (next) => {
            const loaded = await serverTls(next, tlsContext);
            const { closed } = applyTls([server.listener], loaded.tls, {
              check,
              authorize: loaded.revoked ? revocationCheck(loaded.revoked) : undefined,
              logger: log,
            });
            return { closed_revoked: closed };
          },
        }),
        onSignal: (sig) =>
          log.info("shutting down: telling clients the server is going away", { signal: sig }),
      });
      log.info("stopped");
    }));
  cmd.addCommand(servercliBenchCommand());
  cmd.addCommand(reloadCommand("servercli"));
  return cmd;
}

interface TlsSettings {
  requireClientCert: boolean;
  certs: string;
  cert: string | undefined;
  key: string | undefined;
  clientCerts: string | undefined;
}

/**
 * Loads the server TLS material from --cert/--key or the certificates
 * directory; the default one without server.pem falls back to the replaced
 * server's certs/my.crt and certs/my.key.
 */
async function serverTls(
  s: TlsSettings,
  { log, certFiles }: { log: Logger; certFiles: ServerCertFilesFor },
): Promise<{ tls: TlsMaterial; revoked?: string }> {
  const onWarning = (w: string) => log.warn(w);
  if ((s.cert === undefined) !== (s.key === undefined)) {
    throw new ConfigError(
      "Options --cert and --key go together: pass both, or neither to use --certs",
    );
  }
  if (s.cert !== undefined && s.key !== undefined) {
    if (s.requireClientCert && s.clientCerts === undefined) {
      throw new ConfigError(
        "Option --require-client-cert with --cert needs --client-certs FILE (the allow-list of client certificates)",
      );
    }
    const tls = await loadServerTls({
      cert: s.cert,
      key: s.key,
      onWarning,
      ...(s.requireClientCert && s.clientCerts !== undefined ? { clientCerts: s.clientCerts } : {}),
    });
    return { tls };
  }
  const p = certPaths(s.certs);
  const files = await certFiles(s.certs);
  const tls = await loadServerTls({
    cert: files.cert,
    key: files.key,
    onWarning,
    ...(s.requireClientCert ? { clientCerts: s.clientCerts ?? p.allowList } : {}),
  });
  return s.requireClientCert ? { tls, revoked: p.revoked } : { tls };
}
