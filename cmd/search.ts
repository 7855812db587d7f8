/**
 * `sockkit search`: the exact full-line search server (`serve`), its client
 * (`query`), the benchmark of search methods (`bench`) and the load test
 * (`load`).
 */
import { Command } from "@commander-js/extra-typings";
import { ConfigError, fileKeys, parse, type resolveSettings } from "../core/config/mod.ts";
import { applyTls, ReloadableCheck, runDaemon, settingsReload } from "../core/lifecycle/mod.ts";
import type { Logger } from "../core/log/mod.ts";
import { DaemonMetrics, metricsSettings } from "../core/metrics/mod.ts";
import {
  certPaths,
  loadClientTls,
  loadServerTls,
  revocationCheck,
  serverCertFallback,
  type ServerCertFilesFor,
} from "../core/pki/mod.ts";
import {
  type ClientTlsOptions,
  maxPerAddressSetting,
  type PeerIdentity,
  type TlsMaterial,
} from "../core/net/mod.ts";
import {
  DEFAULT_SEARCH_PORT,
  loadSearchConfig,
  REPLACED_SERVER_CERT,
  SearchFileError,
  searchOnce,
  startSearchServer,
} from "../core/search/mod.ts";
import { action, globals, intArg, loggerFrom } from "./_cli.ts";
import { reloadCommand } from "./_reload.ts";
import { withSettings } from "./_settings.ts";
import { settingsReader } from "./_settings_reload.ts";
import { searchBenchCommand, searchLoadCommand } from "./search_bench.ts";
import { errorText } from "../core/log/mod.ts";

const SPECS = {
  file: {
    parse: parse.string,
    flag: "--file",
    arg: "<path>",
    help: "file to search",
    env: "SOCKKIT_SEARCH_FILE",
    file: "linuxpath",
  },
  rereadOnQuery: {
    parse: parse.boolean,
    flag: "--reread-on-query",
    help: "read the file again for every query",
    negate: "keep an index, rebuilt when the file changes (the default)",
    env: "SOCKKIT_SEARCH_REREAD_ON_QUERY",
    file: "reread_on_query",
    default: false,
  },
  port: {
    parse: parse.port,
    flag: "--port",
    arg: "<port>",
    help: "port to listen on",
    env: "SOCKKIT_SEARCH_PORT",
    file: "port",
    default: DEFAULT_SEARCH_PORT,
  },
  host: {
    parse: parse.string,
    flag: "--host",
    arg: "<host>",
    help: "address to bind",
    env: "SOCKKIT_SEARCH_HOST",
    file: "host",
    default: "0.0.0.0",
  },
  tls: {
    parse: parse.boolean,
    flag: "--tls",
    help: "serve TLS",
    negate: "serve plain TCP (the default)",
    env: "SOCKKIT_SEARCH_TLS",
    file: "ssl_enabled",
    default: false,
  },
  certs: {
    parse: parse.string,
    flag: "--certs",
    arg: "<dir>",
    help:
      "certificates directory with server.pem/server.key (if it has none: ./cert.pem, ./key.pem)",
    env: "SOCKKIT_CERTS",
    file: "certs_dir",
    default: "certs",
  },
  cert: {
    parse: parse.string,
    flag: "--cert",
    arg: "<file>",
    help: "server certificate instead of --certs",
    env: "SOCKKIT_SEARCH_CERT",
    file: "certfile",
  },
  key: {
    parse: parse.string,
    flag: "--key",
    arg: "<file>",
    help: "server private key with --cert",
    env: "SOCKKIT_SEARCH_KEY",
    file: "keyfile",
  },
  clientCerts: {
    parse: parse.string,
    flag: "--client-certs",
    arg: "<file>",
    help: "allow-list PEM: request client certificates and report their identity",
    env: "SOCKKIT_SEARCH_CLIENT_CERTS",
    file: "client_certs",
  },
  requireClientCert: {
    parse: parse.boolean,
    flag: "--require-client-cert",
    help: "refuse clients without an allow-listed certificate",
    env: "SOCKKIT_SEARCH_REQUIRE_CLIENT_CERT",
    file: "require_client_cert",
    default: false,
  },
  workers: {
    parse: parse.integer(1, 64),
    flag: "--workers",
    arg: "<n>",
    help: "search worker threads",
    defaultHelp: "CPU count in reread mode, 1 in index mode",
    env: "SOCKKIT_SEARCH_WORKERS",
    file: "workers",
  },
  ...maxPerAddressSetting("search", "max_per_address"),
  idleMs: {
    parse: parse.integer(1, 60_000),
    flag: "--idle-ms",
    arg: "<ms>",
    help: "answer a query without newline after this much silence",
    default: 50,
  },
  ...metricsSettings("search", ""),
} as const;

/** The config file keys of SPECS: those `search serve` reads among a file's other entries. */
const CONFIG_KEYS = Object.values(SPECS).flatMap((spec) => fileKeys(spec));

/** Settings a reload applies; other changes are logged as needing a restart. */
const RELOADABLE = ["certs", "cert", "key", "clientCerts"];

type SearchSettings = ReturnType<typeof resolveSettings<typeof SPECS>>;

/**
 * Loads the server TLS (and revocation check) for `--tls`; none for plain TCP.
 * Without --cert/certfile= and with the default --certs directory empty, the
 * replaced server's cert.pem/key.pem in the working directory are used.
 */
async function searchTls(
  s: SearchSettings,
  { log, certFiles }: { log: Logger; certFiles: ServerCertFilesFor },
): Promise<{
  tls?: TlsMaterial;
  authorize?: (peer: PeerIdentity) => string | undefined;
}> {
  if ((s.cert === undefined) !== (s.key === undefined)) {
    throw new ConfigError(
      "A server certificate needs its key: give both --cert and --key (config certfile= and keyfile=)",
    );
  }
  if (!s.tls) {
    if (s.requireClientCert) {
      throw new ConfigError("--require-client-cert needs TLS: add --tls (or ssl_enabled=True)");
    }
    return {};
  }
  const p = certPaths(s.certs);
  const clientCerts = s.clientCerts ?? (s.requireClientCert ? p.allowList : undefined);
  let tls: TlsMaterial;
  try {
    const files = s.cert !== undefined && s.key !== undefined
      ? { cert: s.cert, key: s.key }
      : await certFiles(s.certs);
    tls = await loadServerTls({
      cert: files.cert,
      key: files.key,
      onWarning: (w) => log.warn(w),
      ...(clientCerts ? { clientCerts } : {}),
    });
  } catch (err) {
    // Missing or unusable certificates are a configuration problem (exit 2).
    throw new ConfigError(errorText(err), { cause: err });
  }
  return { tls, ...(clientCerts ? { authorize: revocationCheck(p.revoked) } : {}) };
}

function serveCommand() {
  const cmd = new Command("serve")
    .description(
      "Answer STRING EXISTS / STRING NOT FOUND for each query line that is (not) a whole line of a file",
    )
    .option(
      "--config <file>",
      "INI-like config file; reads linuxpath=, reread_on_query=, ssl_enabled=, port= among any other entries",
    )
    .addHelpText(
      "after",
      `
Config file example (unrelated entries are ignored):
  linuxpath=/srv/data/200k.txt
  reread_on_query=False
  ssl_enabled=True
  port=44445

Example:
  sockkit search serve --file fixtures/search/words.txt --port 44445
  printf 'apple\\n' | nc -q1 127.0.0.1 44445  # STRING EXISTS (-q1: nc closes after stdin ends)

Only top-level keys, [DEFAULT], [server] and [search] count. Certificate and key paths:
certfile=/keyfile= (also ssl_certfile=/ssl_keyfile=, cert_path=/key_path=).`,
    );
  return withSettings(cmd, SPECS)
    .action(action(async (opts, cmd) => {
      const log = loggerFrom(globals(cmd), { svc: "search" });
      // The file may hold any unrelated entries: unknown keys are not reported.
      const settings = settingsReader(SPECS, cmd, {
        config: opts.config,
        load: (path) => loadSearchConfig(path, CONFIG_KEYS),
      });
      const s = await settings();
      if (s.file === undefined) {
        throw new ConfigError(
          "No file to search: give --file PATH, SOCKKIT_SEARCH_FILE or linuxpath= in --config",
        );
      }
      const replaced = { defaultDir: SPECS.certs.default, replaced: REPLACED_SERVER_CERT };
      // one per process: a reload that falls back again does not log it again
      const tlsContext = { log, certFiles: serverCertFallback({ ...replaced, logger: log }) };
      const { tls, authorize } = await searchTls(s, tlsContext);
      // a reload puts the revocation list of the certificates directory it loads in force
      const check = new ReloadableCheck(authorize);
      const metrics = new DaemonMetrics("search");
      let server;
      try {
        server = await startSearchServer({
          file: s.file,
          rereadOnQuery: s.rereadOnQuery,
          host: s.host,
          port: s.port,
          idleMs: s.idleMs,
          logger: log,
          ...(tls ? { tls } : {}),
          ...(s.requireClientCert ? { requireClientCert: true } : {}),
          authorize: check.authorize,
          ...(s.workers !== undefined ? { workers: s.workers } : {}),
          maxPerAddress: s.maxPerAddress,
          ipv6Prefix: s.ipv6Prefix,
          daemonMetrics: metrics,
        });
      } catch (err) {
        if (err instanceof SearchFileError) throw new ConfigError(err.message, { cause: err });
        throw err;
      }
      const running = server;
      await runDaemon(server, {
        started: () =>
          log.info(
            `listening on ${s.host}:${server.port} (${
              tls ? "TLS" : "plain TCP"
            }, ${server.mode} mode) searching "${s.file}"`,
          ),
        logger: log,
        metrics,
        metricsPort: s.metricsPort,
        metricsHost: s.metricsHost,
        ready: () => running.ready(),
        reload: settingsReload(s, {
          read: settings,
          reloadable: RELOADABLE,
          apply: async (next) => {
            let closed = 0;
            if (tls) {
              const loaded = await searchTls(next, tlsContext);
              if (loaded.tls) {
                closed = applyTls([running.listener], loaded.tls, {
                  check,
                  authorize: loaded.authorize,
                  logger: log,
                }).closed;
              }
            }
            return { closed_revoked: closed };
          },
        }),
        onSignal: (sig) => log.info("draining", { signal: sig }),
      });
      log.info("stopped");
    }));
}

function queryCommand() {
  return new Command("query")
    .description(
      "Ask a search server whether STRING is a line of its file (exit 0 found, 1 not found, 2 error)",
    )
    .argument("<string>", "the exact line to look for")
    .option("--host <host>", "server host", "127.0.0.1")
    .option("--port <port>", "server port", intArg(1, 65535), DEFAULT_SEARCH_PORT)
    .option("--tls", "connect over TLS")
    .option("--certs <dir>", "certificates directory (CA: DIR/ca.pem)", "certs")
    .option("--ca <file>", "CA certificate that signs the server certificate (default DIR/ca.pem)")
    .option("--cert <file>", "client certificate to present")
    .option("--key <file>", "its private key")
    .option(
      "--timeout <ms>",
      "give up connecting, or waiting for the answer, after this many ms",
      intArg(1, 600_000),
      10_000,
    )
    .addHelpText("after", "\nExample:\n  sockkit search query apple --port 44445 && echo found")
    .action(action(async (query, opts) => {
      try {
        let tls: ClientTlsOptions | undefined;
        if (opts.tls) {
          tls = await loadClientTls({
            ca: opts.ca ?? certPaths(opts.certs).ca,
            ...(opts.cert ? { cert: opts.cert } : {}),
            ...(opts.key ? { key: opts.key } : {}),
          });
        }
        const found = await searchOnce(query, {
          host: opts.host,
          port: opts.port,
          timeoutMs: opts.timeout,
          answerTimeoutMs: opts.timeout,
          ...(tls ? { tls } : {}),
        });
        console.log(found ? "STRING EXISTS" : "STRING NOT FOUND");
        return found ? 0 : 1;
      } catch (err) {
        console.error(`sockkit: ${errorText(err)}`);
        return 2;
      }
    }));
}

/**
 * `sockkit search` and its subcommands (their usage errors exit 2 through
 * `main.ts`, which sets that on every subcommand).
 */
export function searchCommand(): Command {
  return new Command("search")
    .description(
      "Exact full-line string search server over a text file, its client and benchmarks",
    )
    .addCommand(serveCommand())
    .addCommand(queryCommand())
    .addCommand(searchBenchCommand())
    .addCommand(searchLoadCommand())
    .addCommand(reloadCommand("search"));
}
