/**
 * `sockkit servercli bench`: holds N concurrent TLS clients against a
 * servercli it starts (or `--target`), times a date broadcast to all of
 * them, reads the server's memory per connection and the reverse-echo rate.
 */
import { basename } from "node:path";
import { fileURLToPath } from "node:url";
import { Command, InvalidArgumentError } from "@commander-js/extra-typings";
import { parse } from "../core/config/mod.ts";
import {
  type BenchServer,
  type ChatBenchResult,
  runChatBench,
  spawnBenchServer,
} from "../core/chat/bench/mod.ts";
import {
  type ClientTlsOptions,
  DESCRIPTORS_PER_CONNECTION,
  openFileLimit,
} from "../core/net/mod.ts";
import { initPki, loadClientTls } from "../core/pki/mod.ts";
import { action, intArg, optionParser } from "./_cli.ts";
import { startProgress } from "./_progress.ts";

const TARGET_CLIENTS = 10_000;
const TARGET_BROADCAST_MS = 500;
/** File descriptors kept free for everything that is not a bench client. */
const FD_RESERVE = 64;

/** How to start this same sockkit as a child: the binary itself, or deno run main.ts. */
function selfCommand(): string[] {
  const exe = Deno.execPath();
  if (!/^deno(\.exe)?$/.test(basename(exe))) return [exe];
  const main = Deno.mainModule.startsWith("file:")
    ? fileURLToPath(Deno.mainModule)
    : Deno.mainModule;
  return [exe, "run", "-A", "--quiet", "--no-prompt", main];
}

const fmt = (n: number, digits = 0) =>
  n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });

/** Builds the `servercli bench` command. */
export function servercliBenchCommand(): Command {
  return new Command("bench")
    .description(
      "Hold N concurrent TLS clients (server started with --max-clients N), time one date " +
        "broadcast to all of them, report the server's memory per connection and the " +
        `reverse-echo lines/s. Target: ${
          fmt(TARGET_CLIENTS)
        } clients, date to all within ${TARGET_BROADCAST_MS} ms.`,
    )
    .option("--clients <n>", "concurrent clients to hold", intArg(1, 1_000_000), TARGET_CLIENTS)
    .option("--concurrency <n>", "TLS handshakes in flight at once", intArg(1, 4096), 64)
    .option("--rounds <n>", "broadcast rounds to time", intArg(1, 100), 5)
    .option("--echo-clients <n>", "clients that send lines for the echo rate", intArg(0, 1000), 16)
    .option("--echo-seconds <s>", "how long the echo phase sends", intArg(1, 600), 2)
    .option(
      "--connect-budget <s>",
      "stop opening clients after this many seconds",
      intArg(1, 3600),
      120,
    )
    .option(
      "--target <host:port>",
      "measure a running servercli instead (no memory figures)",
      optionParser(parse.hostPort()),
    )
    .option("--ca <file>", "CA certificate of the --target server (default: system store)")
    .option("--insecure", "do not verify the --target server's certificate")
    .addHelpText(
      "after",
      '\nAlso read here (they belong to servercli, so they may stand before or after "bench"):\n' +
        "  --json             print one JSON line with the figures on stdout\n" +
        "  --period <time>    broadcast period of the bench server (default 1; 500ms works)",
    )
    .action(action(async (opts, command) => {
      // --json and --period are servercli's options; commander gives them to the parent.
      const shared = command.optsWithGlobals() as { json?: boolean; period?: string };
      const json = shared.json === true;
      let periodMs: number;
      try {
        periodMs = parse.positiveDuration(shared.period ?? "1");
      } catch (err) {
        throw new InvalidArgumentError(`Invalid value for --period: ${(err as Error).message}`);
      }
      using progress = startProgress("servercli bench");
      const say = (msg: string) => progress.phase(msg);
      let clients = opts.clients;
      const limit = await openFileLimit();
      // The server started here inherits this limit and holds more descriptors per client than we do.
      const perClient = opts.target === undefined ? DESCRIPTORS_PER_CONNECTION : 1;
      if (limit && limit.soft < clients * perClient + FD_RESERVE) {
        const fit = Math.max(1, Math.floor((limit.soft - FD_RESERVE) / perClient));
        const need = clients * perClient + FD_RESERVE;
        const fix = limit.hard >= need
          ? `raise it first: ulimit -n ${need}`
          : `the hard limit is ${limit.hard}: raise it as root (ulimit -Hn, limits.conf or LimitNOFILE=)`;
        progress.log(
          `servercli bench: open-file limit (ulimit -n) is ${limit.soft}, too low for ${clients} clients${
            perClient > 1 ? ` (the server holds ${perClient} descriptors per client)` : ""
          }; running ${fit} instead (${fix})`,
        );
        clients = fit;
      } else if (limit) {
        say(`open-file limit ${limit.soft} is enough for ${clients} clients`);
      }

      let server: BenchServer | undefined;
      let tmp: string | undefined;
      let host = "127.0.0.1";
      let port: number;
      let tls: ClientTlsOptions;
      try {
        if (opts.target !== undefined) {
          ({ host, port } = opts.target);
          tls = opts.insecure
            ? { insecure: true }
            : await loadClientTls(opts.ca !== undefined ? { ca: opts.ca } : {});
        } else {
          tmp = await Deno.makeTempDir({ prefix: "sockkit-servercli-bench-" });
          const paths = await initPki(tmp);
          tls = await loadClientTls({ ca: paths.ca });
          say(`starting servercli --max-clients ${clients} --period ${periodMs}ms`);
          server = await spawnBenchServer({
            command: selfCommand(),
            certsDir: tmp,
            maxClients: clients,
            periodMs,
          });
          port = server.port;
        }
        say(
          `opening ${clients} TLS clients to ${host}:${port}, ${opts.concurrency} handshakes at a time`,
        );
        const r = await runChatBench({
          host,
          port,
          tls,
          clients,
          periodMs,
          concurrency: opts.concurrency,
          rounds: opts.rounds,
          echoClients: opts.echoClients,
          echoMs: opts.echoSeconds * 1000,
          connectBudgetMs: opts.connectBudget * 1000,
          ...(server ? { server } : {}),
          onProgress: say,
        });
        progress.stop();
        report(r, json, server !== undefined);
        return r.held > 0 ? 0 : 1;
      } finally {
        await server?.close();
        if (tmp) await Deno.remove(tmp, { recursive: true }).catch(() => {});
      }
    }));
}

interface Row {
  figure: string;
  value: number;
  unit: string;
  target?: string;
}

function rows(r: ChatBenchResult): Row[] {
  const out: Row[] = [
    {
      figure: "concurrent TLS clients held",
      value: r.held,
      unit: "clients",
      target: `>= ${TARGET_CLIENTS}`,
    },
  ];
  if (r.broadcastMs.length > 1) {
    const sorted = [...r.broadcastMs].sort((a, b) => a - b);
    out.push({
      figure: `date broadcast to all ${r.held} clients (median of ${r.broadcastMs.length})`,
      value: round(sorted[Math.floor((sorted.length - 1) / 2)]!, 1),
      unit: "ms",
    });
  }
  if (r.broadcastMs.length > 0) {
    out.push({
      figure: `date broadcast to all ${r.held} clients (worst of ${r.broadcastMs.length})`,
      value: round(Math.max(...r.broadcastMs), 1),
      unit: "ms",
      target: `<= ${TARGET_BROADCAST_MS}`,
    });
  }
  if (r.rssBase !== undefined && r.rssHeld !== undefined && r.held > 1) {
    out.push({
      figure: "server RSS per connection",
      value: round((r.rssHeld - r.rssBase) / (r.held - 1) / 1024, 1),
      unit: "KiB",
    });
  }
  if (r.heapBase !== undefined && r.heapHeld !== undefined && r.held > 1) {
    out.push({
      figure: "server JS heap per connection",
      value: round((r.heapHeld - r.heapBase) / (r.held - 1) / 1024, 2),
      unit: "KiB",
    });
  }
  out.push({
    figure: "TLS handshakes/s (client and server on 2 cores)",
    value: round((r.held + r.failed) / (r.connectMs / 1000), 0),
    unit: "conn/s",
  });
  out.push({ figure: "reverse-echo lines/s", value: round(r.linesPerSec, 0), unit: "lines/s" });
  return out;
}

const round = (v: number, d: number) => Math.round(v * 10 ** d) / 10 ** d;

function report(r: ChatBenchResult, json: boolean, spawned: boolean): void {
  const table = rows(r);
  if (json) {
    console.log(JSON.stringify({ service: "servercli", rows: table }));
    return;
  }
  const w = Math.max(...table.map((t) => t.figure.length));
  console.log(`${"figure".padEnd(w)}  ${"value".padStart(12)}  unit     target`);
  for (const t of table) {
    console.log(
      `${t.figure.padEnd(w)}  ${fmt(t.value, Number.isInteger(t.value) ? 0 : 1).padStart(12)}  ${
        t.unit.padEnd(7)
      }  ${t.target ?? ""}`,
    );
  }
  if (r.spreadMs.length > 0) {
    console.log(
      `\nper round: ${
        r.broadcastMs.map((b, i) =>
          `${b.toFixed(1)} ms to all (first-to-last ${r.spreadMs[i]!.toFixed(1)} ms` +
          (r.serverWriteMs[i] !== undefined
            ? `, server write loop ${r.serverWriteMs[i]!.toFixed(1)} ms)`
            : ")")
        ).join("; ")
      }`,
    );
  }
  if (!spawned) console.log("broadcast time against --target is first-to-last client receipt");
  if (r.missed > 0) console.log(`${r.missed} client-rounds missed a date within the wait`);
  if (r.held < r.requested) {
    console.log(
      `held ${r.held} of ${r.requested}` + (r.firstError ? `; first failure: ${r.firstError}` : ""),
    );
  }
}
