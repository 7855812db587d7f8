/**
 * `sockkit query`: the TCP+UDP query server (`serve`), its client (`ask`),
 * the encryption key pair (`keys`) and the benchmark (`bench`).
 */
import { Command, InvalidArgumentError } from "@commander-js/extra-typings";
import { parse } from "../core/config/mod.ts";
import { applyTls, runDaemon, settingsReload } from "../core/lifecycle/mod.ts";
import { DaemonMetrics, metricsSettings } from "../core/metrics/mod.ts";
import { maxPerAddressSetting } from "../core/net/mod.ts";
import { loadCertsDirTls, loadClientTls } from "../core/pki/mod.ts";
import {
  ask,
  KEY_FILES,
  loadDataSpec,
  loadKeyPair,
  loadPublicKey,
  REMOTE_REPLY_BYTES,
  startQueryServer,
  writeKeyPair,
} from "../core/query/mod.ts";
import { action, globals, intArg, loggerFrom } from "./_cli.ts";
import { queryBenchCommand } from "./query_bench.ts";
import { reloadCommand } from "./_reload.ts";
import { settingsReader } from "./_settings_reload.ts";
import { withSettings } from "./_settings.ts";
import { errorText } from "../core/log/mod.ts";

const SPECS = {
  data: {
    parse: parse.string,
    flag: "--data",
    arg: "<spec>",
    help: "data spec file (JSON or TOML) naming the data files",
    env: "SOCKKIT_QUERY_DATA",
    file: "query.data",
  },
  handler: {
    parse: parse.string,
    flag: "--handler",
    arg: "<module>",
    help: "handler module: export default (query, data) => reply",
    env: "SOCKKIT_QUERY_HANDLER",
    file: "query.handler",
  },
  port: {
    parse: parse.port,
    flag: "--port",
    arg: "<port>",
    help: "TCP and UDP port",
    env: "SOCKKIT_QUERY_PORT",
    file: "query.port",
    default: 9000,
  },
  host: {
    parse: parse.string,
    flag: "--host",
    arg: "<host>",
    help: "address to bind",
    env: "SOCKKIT_QUERY_HOST",
    file: "query.host",
    default: "0.0.0.0",
  },
  tls: {
    parse: parse.boolean,
    flag: "--tls",
    help: "TLS on the TCP side, with the server certificate from --certs",
    env: "SOCKKIT_QUERY_TLS",
    file: "query.tls",
    default: false,
  },
  certs: {
    parse: parse.string,
    flag: "--certs",
    arg: "<dir>",
    help: 'certificates directory made by "sockkit certs init"',
    env: "SOCKKIT_CERTS",
    file: "query.certs",
    default: "certs",
  },
  key: {
    parse: parse.string,
    flag: "--key",
    arg: "<file>",
    help: 'X25519 private key for encrypted queries (from "sockkit query keys")',
    env: "SOCKKIT_QUERY_KEY",
    file: "query.key",
  },
  handlerTimeout: {
    parse: parse.positiveDuration,
    flag: "--handler-timeout",
    arg: "<duration>",
    help: "time limit per query, e.g. 500ms or 2s",
    defaultHelp: "1s",
    env: "SOCKKIT_QUERY_HANDLER_TIMEOUT",
    file: "query.handler_timeout",
    default: 1000,
  },
  handlerMemory: {
    parse: parse.integer(16, 65536),
    flag: "--handler-memory",
    arg: "<MiB>",
    help: "heap cap of each handler worker; a handler over it is stopped",
    env: "SOCKKIT_QUERY_HANDLER_MEMORY",
    file: "query.handler_memory",
    default: 256,
  },
  workers: {
    parse: parse.integer(1, 64),
    flag: "--workers",
    arg: "<n>",
    help: "handler workers",
    env: "SOCKKIT_QUERY_WORKERS",
    file: "query.workers",
    default: 2,
  },
  maxRequest: {
    parse: parse.positiveBytes,
    flag: "--max-request",
    arg: "<bytes>",
    help: "largest TCP request",
    defaultHelp: "1MiB",
    env: "SOCKKIT_QUERY_MAX_REQUEST",
    file: "query.max_request",
    default: 1024 * 1024,
  },
  udpRepliesPerSource: {
    parse: parse.integer(0, 1_000_000),
    flag: "--udp-replies-per-source",
    arg: "<n>",
    help: "UDP replies a second to one remote (not loopback) address; 0 = no limit",
    env: "SOCKKIT_QUERY_UDP_REPLIES_PER_SOURCE",
    file: "query.udp_replies_per_source",
    default: 2000,
  },
  udpReplyBytesPerSource: {
    parse: parse.bytes,
    flag: "--udp-reply-bytes-per-source",
    arg: "<bytes>",
    help:
      "UDP reply bytes a second to one remote (not loopback) address, so forged sources cannot aim large replies at a victim; 0 = no limit",
    defaultHelp: "1MiB",
    env: "SOCKKIT_QUERY_UDP_REPLY_BYTES_PER_SOURCE",
    file: "query.udp_reply_bytes_per_source",
    default: REMOTE_REPLY_BYTES,
  },
  ...maxPerAddressSetting("query", "query.max_per_address"),
  ...metricsSettings("query", "query"),
};

/** Settings a reload applies; other changes are logged as needing a restart. */
const RELOADABLE = ["certs"];

function serveCommand() {
  return withSettings(
    new Command("serve")
      .summary("run the TCP+UDP query server")
      .description(
        "Answer queries over TCP and UDP with a handler module's default export " +
          "(query, data) => reply, over the data files named in a spec (re-read when they change).",
      )
      .option("--tcp-only", "serve TCP only")
      .option("--udp-only", "serve UDP only")
      .option("--config <file>", "TOML/INI config file with a [query] section"),
    SPECS,
  )
    .addHelpText(
      "after",
      "\nPrecedence: flags > environment > config file > defaults.\n\n" +
        "Example:\n" +
        "  sockkit query serve --data fixtures/query/spec.json --handler fixtures/query/handler.ts\n" +
        '  sockkit query ask "people 2" --udp',
    )
    .action(action(async (opts, command) => {
      if (opts.tcpOnly && opts.udpOnly) {
        throw new InvalidArgumentError("--tcp-only and --udp-only exclude each other");
      }
      const settings = settingsReader(SPECS, command, {
        config: opts.config,
        onWarning: (m) => loggerFrom(globals(command), { svc: "query" }).warn(m),
      });
      const s = await settings();
      if (s.data === undefined) {
        throw new InvalidArgumentError("--data SPEC is required (a JSON or TOML data spec)");
      }
      if (s.handler === undefined) {
        throw new InvalidArgumentError("--handler MODULE is required");
      }
      const log = loggerFrom(globals(command), { svc: "query" });
      const spec = await loadDataSpec(s.data);
      const tls = s.tls && !opts.udpOnly
        ? await loadCertsDirTls(s.certs, { allowList: false, onWarning: (w) => log.warn(w) })
        : undefined;
      const key = s.key !== undefined ? await loadKeyPair(s.key) : undefined;
      const metrics = new DaemonMetrics("query");
      const server = await startQueryServer({
        spec,
        handler: s.handler,
        host: s.host,
        port: s.port,
        tcp: !opts.udpOnly,
        udp: !opts.tcpOnly,
        handlerTimeoutMs: s.handlerTimeout,
        handlerMemoryMb: s.handlerMemory,
        workers: s.workers,
        maxRequestBytes: s.maxRequest,
        maxPerAddress: s.maxPerAddress,
        ipv6Prefix: s.ipv6Prefix,
        udpRepliesPerSource: s.udpRepliesPerSource,
        udpReplyBytesPerSource: s.udpReplyBytesPerSource,
        logger: log,
        ...(tls ? { tls } : {}),
        ...(key ? { key } : {}),
        daemonMetrics: metrics,
      });
      await runDaemon(server, {
        started: () =>
          log.info("listening", {
            host: s.host,
            tcp: server.tcpPort ?? "off",
            udp: server.udpPort ?? "off",
            tls: tls !== undefined,
            encryption: key !== undefined,
            files: spec.files.map((f) => f.name).join(","),
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
            if (tls && server.tcp) {
              applyTls([server.tcp], await loadCertsDirTls(next.certs, { allowList: false }), {
                logger: log,
              });
            }
            return { tls: tls !== undefined };
          },
        }),
        onSignal: (sig) => log.info("shutting down", { signal: sig }),
      });
      log.info("stopped");
    }));
}

function askCommand() {
  return new Command("ask")
    .summary("send one query and print the reply")
    .description("Send one query and print the reply (exit code 1 on an error reply).")
    .argument("<query>", "the query: text, or JSON with --json")
    .option("--host <host>", "server host", "127.0.0.1")
    .option("--port <port>", "server port", intArg(1, 65535), 9000)
    .option("--udp", "ask over UDP")
    .option("--tcp", "ask over TCP (the default)")
    .option("--json", 'JSON representation ("j"): QUERY is JSON, the reply is JSON')
    .option("--server-key <file>", "encrypt (E) for this server public key (query.pub)")
    .option("--tls", "TLS (TCP only), verifying the server with --ca")
    .option("--ca <file>", "CA certificate for --tls (default certs/ca.pem)")
    .option("--timeout <duration>", "give up after this long (default 5s)")
    .action(action(async (query, opts) => {
      if (opts.udp && opts.tcp) {
        throw new InvalidArgumentError("--udp and --tcp exclude each other");
      }
      if (opts.udp && opts.tls) throw new InvalidArgumentError("--tls works over TCP only");
      if (opts.json) {
        try {
          JSON.parse(query);
        } catch (err) {
          throw new InvalidArgumentError(
            `QUERY is not JSON (${errorText(err)}); ` +
              `quote strings, e.g. '"text"', or drop --json`,
          );
        }
      }
      let timeoutMs = 5000;
      if (opts.timeout !== undefined) {
        try {
          timeoutMs = parse.positiveDuration(opts.timeout);
        } catch (err) {
          throw new InvalidArgumentError(`--timeout: ${(err as Error).message}`);
        }
      }
      const serverKey = opts.serverKey ? await loadPublicKey(opts.serverKey) : undefined;
      const tls = opts.tls ? await loadClientTls({ ca: opts.ca ?? "certs/ca.pem" }) : undefined;
      const reply = await ask(query, {
        host: opts.host,
        port: opts.port,
        transport: opts.udp ? "udp" : "tcp",
        representation: opts.json ? "j" : "t",
        timeoutMs,
        ...(serverKey ? { serverKey } : {}),
        ...(tls ? { tls } : {}),
      });
      if (reply.error !== undefined) {
        console.error(`sockkit: error reply: ${reply.error}`);
        return 1;
      }
      console.log(reply.text);
    }));
}

function keysCommand() {
  return new Command("keys")
    .summary("create the server key pair for encrypted queries")
    .description(
      `Create the server's X25519 key pair for encrypted queries: ${KEY_FILES.privateKey} (0600) ` +
        `for "serve --key" and ${KEY_FILES.publicKey} for clients' "--server-key".`,
    )
    .option("--dir <dir>", "where to write the key files", "certs")
    .option("--force", "replace existing key files")
    .action(action(async (opts) => {
      const paths = await writeKeyPair(opts.dir, { force: opts.force === true });
      console.log(`private key: ${paths.privateKey} (mode 0600; serve --key ${paths.privateKey})`);
      console.log(`public key:  ${paths.publicKey} (clients: ask --server-key ${paths.publicKey})`);
    }));
}

/** Builds the `query` command and its subcommands. */
export function queryCommand(): Command {
  return new Command("query")
    .description(
      "TCP+UDP server answering queries with a user function over watched CSV/JSON data files",
    )
    .addCommand(serveCommand())
    .addCommand(askCommand())
    .addCommand(keysCommand())
    .addCommand(queryBenchCommand())
    .addCommand(reloadCommand("query")) as unknown as Command;
}
