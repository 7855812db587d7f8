/** `broker serve` and `broker connect`: run a server or client connector until a signal. */
import { Command, InvalidArgumentError, Option } from "@commander-js/extra-typings";
import { resolve } from "node:path";
import { parse } from "../core/config/mod.ts";
import {
  certPaths,
  loadClientTls,
  loadServerTls,
  revocationCheck,
  revoke,
} from "../core/pki/mod.ts";
import { serveUntilSignal } from "../core/lifecycle/mod.ts";
import { Connector, type ConnectorOptions, DEFAULT_BROKER_PORT } from "../core/broker/mod.ts";
import { action, globals, loggerFrom } from "./_cli.ts";

/** The state directory a command uses: `--dir`, `SOCKKIT_BROKER_DIR`, or `./broker-state`. */
export function stateDir(flag: string | undefined): string {
  return resolve(flag ?? Deno.env.get("SOCKKIT_BROKER_DIR") ?? "broker-state");
}

function bytesOpt(name: string) {
  return (v: string) => {
    try {
      return parse.bytes(v);
    } catch (err) {
      throw new InvalidArgumentError(`${name}: ${(err as Error).message}`);
    }
  };
}

function durationOpt(v: string): number {
  try {
    return parse.duration(v);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

function fileDir(v: string, prev: Record<string, string> = {}): Record<string, string> {
  const i = v.indexOf("=");
  if (i <= 0 || i === v.length - 1) {
    throw new InvalidArgumentError(`expected TYPE=PATH, got "${v}"`);
  }
  return { ...prev, [v.slice(0, i)]: resolve(v.slice(i + 1)) };
}

/** Options shared by serve and connect. */
function common<T extends Command<[], Record<string, unknown>>>(cmd: T) {
  return cmd
    .option("--certs <dir>", "certificates directory (sockkit certs init)", "certs")
    .option(
      "--dir <dir>",
      "state directory: journals, queues, local socket (env SOCKKIT_BROKER_DIR)",
    )
    .option(
      "--persist-max <bytes>",
      "size cap of each peer journal and type queue (512MiB, 1GiB...)",
      bytesOpt("--persist-max"),
    )
    .option("--max-frame <bytes>", "frame size cap", bytesOpt("--max-frame"))
    .option(
      "--file-dir <TYPE=PATH>",
      "store received files of TYPE under PATH (repeatable)",
      fileDir,
    )
    .option(
      "--heartbeat <duration>",
      "heartbeat interval (a link silent 3x this is dropped)",
      durationOpt,
    )
    .option("--no-fsync", "do not fdatasync journal appends (faster, less durable)");
}

interface CommonOpts {
  certs: string;
  dir?: string;
  persistMax?: number;
  maxFrame?: number;
  fileDir?: Record<string, string>;
  heartbeat?: number;
  fsync: boolean;
}

function baseOptions(o: CommonOpts): Omit<ConnectorOptions, "name" | "dir"> {
  const b: Omit<ConnectorOptions, "name" | "dir"> = { fsync: o.fsync };
  if (o.persistMax !== undefined) b.persistMaxBytes = o.persistMax;
  if (o.maxFrame !== undefined) b.maxFrameBytes = o.maxFrame;
  if (o.fileDir) b.fileDirs = o.fileDir;
  if (o.heartbeat !== undefined) b.heartbeatMs = o.heartbeat;
  return b;
}

async function run(c: Connector, log: ReturnType<typeof loggerFrom>): Promise<number> {
  let failed: Error | undefined;
  const fatal = c.fatal.catch((err) => failed = err);
  await serveUntilSignal(c, {
    done: Promise.race([c.stopRequested, fatal]),
    onSignal: (s) => log.info("draining", { signal: s }),
  });
  await c.close();
  if (failed) throw failed;
  log.info("stopped", { name: c.name });
  return 0;
}

/** `broker serve`. */
export function serveCommand(): Command {
  return common(
    new Command("serve")
      .description("run the server connector: accepts client connectors over mutual TLS")
      .addOption(
        new Option("--port <port>", "TCP port").default(DEFAULT_BROKER_PORT).argParser((v) => {
          try {
            return parse.port(v);
          } catch (err) {
            throw new InvalidArgumentError((err as Error).message);
          }
        }),
      )
      .option("--host <host>", "address to bind", "0.0.0.0")
      .option("--name <name>", "this connector's name (destination for clients)", "server"),
  ).action(action(async (_opts: unknown, cmd: Command) => {
    const o = cmd.opts() as CommonOpts & { port: number; host: string; name: string };
    const log = loggerFrom(globals(cmd), { svc: "broker" });
    const p = certPaths(o.certs);
    const tls = await loadServerTls({
      cert: p.serverCert,
      key: p.serverKey,
      clientCerts: p.allowList,
    });
    const dir = stateDir(o.dir);
    const c = await Connector.start({
      ...baseOptions(o),
      name: o.name,
      dir,
      logger: log,
      server: { host: o.host, port: o.port, tls, authorize: revocationCheck(p.revoked) },
      revoke: async (name) => void await revoke(o.certs, name),
    });
    log.info("listening", { name: o.name, address: o.host, port: c.port, socket: c.socketPath });
    return await run(c, log);
  }));
}

function hostPort(v: string): { host: string; port: number } {
  const m = /^(.+):(\d+)$/.exec(v);
  const port = m ? Number(m[2]) : DEFAULT_BROKER_PORT;
  const host = m ? m[1]!.replace(/^\[|\]$/g, "") : v;
  if (!host || port > 65535) throw new InvalidArgumentError(`expected HOST:PORT, got "${v}"`);
  return { host, port };
}

/** `broker connect`. */
export function connectCommand(): Command {
  return common(
    new Command("connect")
      .description("run a client connector: keeps a mutual-TLS link to the server connector")
      .requiredOption("--name <name>", "this connector's name (must match its certificate CN)")
      .requiredOption("--server <host:port>", "server connector address", hostPort)
      .option("--server-name <name>", "the server connector's name", "server")
      .option("--cert <file>", "client certificate (default CERTS/clients/NAME.pem)")
      .option("--key <file>", "client key (default CERTS/clients/NAME.key)")
      .option("--ca <file>", "CA that signed the server certificate (default CERTS/ca.pem)")
      .option("--servername <name>", "name to verify in the server certificate", "localhost"),
  ).action(action(async (_opts: unknown, cmd: Command) => {
    const o = cmd.opts() as CommonOpts & {
      name: string;
      server: { host: string; port: number };
      serverName: string;
      cert?: string;
      key?: string;
      ca?: string;
      servername: string;
    };
    const log = loggerFrom(globals(cmd), { svc: "broker", name: o.name });
    const p = certPaths(o.certs);
    const tls = await loadClientTls({
      ca: o.ca ?? p.ca,
      cert: o.cert ?? p.clientCert(o.name),
      key: o.key ?? p.clientKey(o.name),
    });
    const dir = stateDir(o.dir);
    const c = await Connector.start({
      ...baseOptions(o),
      name: o.name,
      dir,
      logger: log,
      client: { ...o.server, tls: { ...tls, servername: o.servername }, serverName: o.serverName },
    });
    log.info("client connector started", { name: o.name, socket: c.socketPath });
    return await run(c, log);
  }));
}
