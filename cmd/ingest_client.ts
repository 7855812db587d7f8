/**
 * `sockkit ingest send` (a client that sends JSON/NDJSON objects over mutual
 * TLS) and `sockkit ingest bench` (the load generator).
 */
import { Command, Option } from "@commander-js/extra-typings";
import { ConfigError, parse } from "../core/config/mod.ts";
import type { ClientTlsOptions } from "../core/net/mod.ts";
import { certPaths, loadClientTls } from "../core/pki/mod.ts";
import { DEFAULT_INGEST_PORT, readObjects, sendObjects } from "../core/ingest/mod.ts";
import { type IngestBenchResult, runIngestBench, SHAPES } from "../core/ingest/bench/mod.ts";
import { shutdownSignal } from "../core/lifecycle/mod.ts";
import { type ProgressCounter, startProgress } from "./_progress.ts";
import { action, globals, intArg, loggerFrom, optionParser, plural } from "./_cli.ts";

interface ClientTlsFlags {
  certs?: string;
  client?: string;
  ca?: string;
  cert?: string;
  key?: string;
}

/** Client TLS from `--ca/--cert/--key`, or `--certs DIR --client NAME`. */
async function clientTlsFrom(o: ClientTlsFlags): Promise<ClientTlsOptions> {
  if (o.cert !== undefined || o.key !== undefined) {
    if (o.cert === undefined || o.key === undefined) {
      throw new ConfigError("Incomplete client certificate: give both --cert and --key");
    }
    return await loadClientTls({
      cert: o.cert,
      key: o.key,
      ...(o.ca !== undefined ? { ca: o.ca } : {}),
    });
  }
  const p = certPaths(o.certs ?? Deno.env.get("SOCKKIT_CERTS") ?? "certs");
  if (o.client === undefined) {
    throw new ConfigError(
      'No client certificate: give --client NAME (issued with "sockkit certs issue NAME") or --cert and --key',
    );
  }
  return await loadClientTls({
    ca: o.ca ?? p.ca,
    cert: p.clientCert(o.client),
    key: p.clientKey(o.client),
  });
}

function addClientTlsOptions<T extends Command<unknown[], Record<string, unknown>>>(c: T): T {
  c.option("--certs <dir>", "certificates directory (default certs)")
    .option("--client <name>", "client certificate from <certs>/clients/<name>.pem")
    .option("--ca <file>", "CA certificate that signed the server (default <certs>/ca.pem)")
    .option("--cert <file>", "client certificate (PEM)")
    .option("--key <file>", "client key (PEM)");
  return c;
}

/** `ingest send`. */
export function ingestSendCommand() {
  const c = new Command("send")
    .description(
      "Send JSON objects (JSON, array or NDJSON) from FILE or stdin over mutual TLS",
    )
    .argument("[file]", "input file; - or nothing for stdin")
    .option("--host <host>", "server host", "localhost")
    .option("--port <n>", "server port", intArg(1, 65535), DEFAULT_INGEST_PORT)
    .option(
      "--ack",
      "wait until the server (run with --ack) has durably stored every object, in Redis or its disk spool",
    )
    .option("--timeout <ms>", "how long to wait for acknowledgements", intArg(1), 30000);
  addClientTlsOptions(c);
  return c
    .addHelpText(
      "after",
      '\nExamples:\n  echo \'{"a":1}{"b":{"c":2}}\' | sockkit ingest send --client alice\n' +
        "  sockkit ingest send --client alice --ack data.ndjson",
    )
    .action(action(async (file, opts) => {
      const tls = await clientTlsFrom(opts as ClientTlsFlags);
      let input: ReadableStream<Uint8Array>;
      if (file === undefined || file === "-") input = Deno.stdin.readable;
      else {
        try {
          input = (await Deno.open(file)).readable;
        } catch (err) {
          throw new ConfigError(`Cannot read input file "${file}": ${(err as Error).message}`);
        }
      }
      const r = await sendObjects(readObjects(input), {
        host: opts.host,
        port: opts.port,
        tls,
        ack: opts.ack ?? false,
        ackTimeoutMs: opts.timeout,
      });
      for (const e of r.errors) console.error(`server: ${e}`);
      if (!opts.ack) {
        console.log(`sent ${plural(r.sent, "object")}`);
        return 0;
      }
      if (r.noAcks) {
        throw new Error(
          `Sent ${
            plural(r.sent, "object")
          } but the server acknowledged nothing: it runs without --ack (start it with --ack, ` +
            `or send without --ack), or it is storing nothing now (Redis away and its spool full: ` +
            `its log says "spool full"); the objects may still be stored`,
        );
      }
      const acked = r.acknowledged ?? 0;
      const spooled = r.spooled ?? 0;
      console.log(
        `sent ${plural(r.sent, "object")}, ${acked} durably accepted: ${
          acked - spooled
        } stored in Redis` +
          (spooled > 0
            ? `, ${spooled} went through the server's disk spool (written to Redis once it is back)`
            : ""),
      );
      const refused = Math.min(r.refused ?? 0, r.sent - acked);
      if (refused > 0) {
        console.error(
          `sockkit: ${refused} of ${r.sent} objects were refused by the server (its error lines above say why)`,
        );
      }
      if (acked + refused < r.sent) {
        console.error(
          `sockkit: ${
            r.sent - acked - refused
          } of ${r.sent} objects were not acknowledged within --timeout ${opts.timeout} ms`,
        );
      }
      return acked === r.sent ? 0 : 1;
    }));
}

function fmt(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}

/** The bench's table and JSON rows (rows without a value are left out). */
export function benchRows(r: IngestBenchResult) {
  // `-t hset` sets one field of one key over and over: a ceiling of the
  // connection and parser only. The objects become the same-shape command on
  // new keys, the figure the target is set against.
  const anchor = "redis-benchmark -P 16 -t hset (1 field, 1 key)";
  const rows = [
    {
      figure: `objects/s stored, ${r.clients} mTLS clients, ${r.shape} objects`,
      value: Math.round(r.objectsPerSecond),
      unit: "obj/s",
      anchor,
      anchorValue: r.anchorHsetPerSecond === undefined ? null : Math.round(r.anchorHsetPerSecond),
      target: ">= 200000",
    },
    {
      figure: `objects/s stored, vs the same ${r.shape} command`,
      value: Math.round(r.objectsPerSecond),
      unit: "obj/s",
      anchor: `redis-benchmark -P 16 ${r.shape === "flat" ? "SET" : "5-field HSET"}, new keys`,
      anchorValue: r.anchorShapePerSecond === undefined ? null : Math.round(r.anchorShapePerSecond),
      target: ">= 0.7x anchor",
    },
    {
      figure: "latency send to ack p50",
      value: Number(r.p50Ms.toFixed(1)),
      unit: "ms",
      anchor: null,
      anchorValue: null,
      target: null,
    },
    {
      figure: "latency send to ack p99",
      value: Number(r.p99Ms.toFixed(1)),
      unit: "ms",
      anchor: null,
      anchorValue: null,
      target: null,
    },
    {
      figure: `objects lost (of ${r.sent} sent, ${r.stored} found in Redis)`,
      value: r.lost,
      unit: "objects",
      anchor: null,
      anchorValue: null,
      target: "0",
    },
  ];
  return rows.filter((row) => row.value !== null);
}

/** `ingest bench`. */
export function ingestBenchCommand() {
  const c = new Command("bench")
    .description(
      "Load generator: objects/s, latency p50/p99, count in Redis, redis-benchmark ceiling",
    )
    .option("--clients <n>", "concurrent clients", intArg(1, 1000), 10)
    .option("--objects <n>", "objects in total", intArg(1), 500_000)
    .addOption(new Option("--shape <shape>", "payload shape").choices(SHAPES).default("nested"))
    .option("--rate <n>", "offered objects/s in total (0 = as fast as possible)", intArg(0), 0)
    .option("--redis <url>", "use this Redis (default: a private redis-server)")
    .option(
      "--target <host:port>",
      "load a running server (started with --ack)",
      optionParser(parse.hostPort()),
    )
    .option("--no-anchor", "skip the redis-benchmark measurement")
    .option("--json", "print one JSON line on stdout (the table goes to stderr)");
  addClientTlsOptions(c);
  return c
    .addHelpText(
      "after",
      "\nExamples:\n  sockkit ingest bench\n  sockkit ingest bench --clients 10 --objects 1000000 --json\n" +
        "  sockkit ingest bench --target 127.0.0.1:1191 --client alice --redis redis://127.0.0.1:6379",
    )
    .action(action(async (opts, cmd) => {
      const log = loggerFrom(globals(cmd), { svc: "ingest" });
      if (opts.target && !opts.redis) {
        throw new ConfigError("--target needs --redis (the Redis that server writes to)");
      }
      using stop = shutdownSignal();
      using progress = startProgress("ingest bench");
      let sent: ProgressCounter | undefined;
      let stored: ProgressCounter | undefined;
      const r = await runIngestBench({
        signal: stop,
        clients: opts.clients,
        objects: opts.objects,
        shape: opts.shape as "flat" | "nested",
        rate: opts.rate,
        noAnchor: !opts.anchor,
        logger: log,
        ...(opts.redis ? { redisUrl: opts.redis } : {}),
        ...(opts.target
          ? { target: opts.target, clientTls: await clientTlsFrom(opts as ClientTlsFlags) }
          : {}),
        onPhase: (text) => progress.phase(text),
        onProgress: (p) => {
          sent ??= progress.counter("sent  ", p.total);
          stored ??= progress.counter("stored", p.total);
          const rate = p.elapsedMs > 0 ? (p.acked / p.elapsedMs) * 1000 : 0;
          sent.update(p.sent);
          stored.update(p.acked, `${fmt(rate)} obj/s`);
        },
      });
      progress.stop();
      const rows = benchRows(r);
      const out = opts.json ? (s: string) => console.error(s) : (s: string) => console.log(s);
      out(
        `ingest bench: ${r.clients} clients, ${fmt(r.sent)} ${r.shape} objects in ${
          r.seconds.toFixed(2)
        } s`,
      );
      for (const row of rows) {
        const anchor = row.anchor && row.anchorValue
          ? `  (${row.anchor}: ${fmt(row.anchorValue)}/s, ratio ${
            (Number(row.value) / row.anchorValue).toFixed(2)
          })`
          : "";
        const target = row.target ? `  target ${row.target}` : "";
        out(
          `  ${row.figure.padEnd(52)} ${
            String(row.value).padStart(10)
          } ${row.unit}${anchor}${target}`,
        );
      }
      for (const e of r.errors) out(`  server error line: ${e}`);
      if (r.cleaned) {
        out(
          `  deleted the run's ${
            fmt(r.cleaned.keys)
          } keys (${r.cleaned.pattern}) from ${opts.redis}`,
        );
      }
      if (opts.json) console.log(JSON.stringify({ service: "ingest", rows }));
      return r.lost === 0 ? 0 : 1;
    }));
}
