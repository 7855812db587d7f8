/**
 * `sockkit broker`: the persistent two-way message broker. `serve` and
 * `connect` run connectors; `send`, `listen`, `request` talk to a running
 * connector through its local socket; `bench` measures it against nats-server.
 */
import { Command, InvalidArgumentError } from "@commander-js/extra-typings";
import { join } from "node:path";
import { ConfigError, parse } from "../core/config/mod.ts";
import type { Message } from "../core/broker/mod.ts";
import { type BenchRow, runBrokerBench, runClusterBench } from "../core/broker/bench/mod.ts";
import { shutdownSignal } from "../core/lifecycle/mod.ts";
import { action, intArg, optionParser } from "./_cli.ts";
import { configTemplateCommand, connectCommand, localClient, serveCommand } from "./broker_run.ts";
import { adminCommands } from "./broker_admin.ts";
import { chatCommand } from "./broker_chat.ts";
import { startProgress } from "./_progress.ts";
import { errorText } from "../core/log/mod.ts";

const durationOpt = optionParser(parse.duration);

function jsonOpt(v: string): unknown {
  try {
    return JSON.parse(v);
  } catch (err) {
    throw new InvalidArgumentError(`expected JSON: ${(err as Error).message}`);
  }
}

/** Connects to the connector whose state dir is `--dir`. */
function dataOf(o: { data?: unknown; text?: string }): unknown {
  if (o.data !== undefined && o.text !== undefined) {
    throw new InvalidArgumentError("use either --data or --text, not both");
  }
  return o.text ?? o.data;
}

async function readBinary(path: string | undefined): Promise<Uint8Array | undefined> {
  if (path === undefined) return undefined;
  try {
    return await Deno.readFile(path);
  } catch (err) {
    throw new Error(`Cannot read binary part "${path}": ${(err as Error).message}`);
  }
}

function printable(m: Message): Record<string, unknown> {
  const out: Record<string, unknown> = { type: m.type, src: m.src, dst: m.dst, id: m.id };
  if (m.replyTo !== undefined) out.replyTo = m.replyTo;
  if (m.tag !== undefined) out.tag = m.tag;
  if (m.redelivered) out.redelivered = true;
  if (m.data !== undefined) out.data = m.data;
  if (m.binary.length > 0) out.binaryBytes = m.binary.length;
  return out;
}

/** A command that sends a message through the running connector: where to, its type and data. */
function messageCommand(name: string, description: string) {
  return new Command(name)
    .description(description)
    .option("--dir <dir>", "the connector's state directory (env SOCKKIT_BROKER_DIR)")
    .option("--to <peer>", "destination connector (a client's default: its server)", "")
    .requiredOption("--type <type>", "message type")
    .option("--data <json>", "JSON data", jsonOpt)
    .option("--text <text>", "text data")
    .option("--binary-file <path>", "send this file's bytes as the binary part");
}

function sendCommand() {
  return messageCommand(
    "send",
    "send a message (or a file/directory) through the running connector",
  )
    .option("--file <path>", "send a file or directory (chunked, checksummed) instead of a message")
    .option("--name <name>", "with --file: store it under this name at the receiver")
    .option("--delete", "with --file: remove the source once the receiver stored it")
    .option("--ack", "wait until the peer connector has durably queued it")
    .option("--tag <tag>", "a label passed through to the receiver (listen --tag filters on it)")
    .action(action(async (o) => {
      if (o.file === undefined && (o.name !== undefined || o.delete)) {
        throw new InvalidArgumentError("--name and --delete go with --file");
      }
      await using c = await localClient(o.dir);
      if (o.file !== undefined) {
        const r = await c.sendFile(o.to, o.type, o.file, {
          ...(o.name !== undefined ? { name: o.name } : {}),
          ...(o.delete ? { delete: true } : {}),
        });
        console.log(
          `sent ${
            r.dir ? "directory" : "file"
          } "${o.file}": ${r.files} file(s), ${r.bytes} bytes, stored at ${r.path}`,
        );
        return 0;
      }
      const binary = await readBinary(o.binaryFile);
      const id = await c.send(o.to, o.type, dataOf(o), {
        ...(binary ? { binary } : {}),
        ...(o.ack ? { ack: true } : {}),
        ...(o.tag !== undefined ? { tag: o.tag } : {}),
      });
      await c.sync();
      console.log(o.ack ? `acknowledged ${id}` : `sent ${id}`);
      return 0;
    }));
}

function publishCommand() {
  return new Command("publish")
    .description("publish a message to every client subscribed to its type (through the server)")
    .option("--dir <dir>", "the connector's state directory (env SOCKKIT_BROKER_DIR)")
    .requiredOption("--type <type>", "message type (the topic)")
    .option("--data <json>", "JSON data", jsonOpt)
    .option("--text <text>", "text data")
    .option("--binary-file <path>", "send this file's bytes as the binary part")
    .option("--tag <tag>", "a label passed through to the subscribers")
    .option("--ack", "wait until it is stored for every subscriber")
    .action(action(async (o) => {
      await using c = await localClient(o.dir);
      const binary = await readBinary(o.binaryFile);
      const id = await c.publish(o.type, dataOf(o), {
        ...(binary ? { binary } : {}),
        ...(o.ack ? { ack: true } : {}),
        ...(o.tag !== undefined ? { tag: o.tag } : {}),
      });
      await c.sync();
      console.log(o.ack ? `published and acknowledged ${id}` : `published ${id}`);
      return 0;
    }));
}

function subscribeCommand() {
  return new Command("subscribe")
    .description(
      "subscribe this client connector to message types at its server (kept until --unsubscribe)",
    )
    .option("--dir <dir>", "the connector's state directory (env SOCKKIT_BROKER_DIR)")
    .requiredOption(
      "--type <type>",
      "message type (repeatable)",
      (v: string, prev: string[] = []) => [...prev, v],
    )
    .option("--unsubscribe", "remove these subscriptions instead")
    .action(action(async (o) => {
      await using c = await localClient(o.dir);
      await c.subscribe(o.type, o.unsubscribe ? { unsubscribe: true } : {});
      console.log(`${o.unsubscribe ? "unsubscribed from" : "subscribed to"} ${o.type.join(", ")}`);
      return 0;
    }));
}

/**
 * Checks that binary parts can be written to `dir` before listening, so a
 * listener that could not store one never takes a message off its queue.
 */
async function checkWritableDir(dir: string): Promise<void> {
  const probe = join(dir, `.sockkit-write-test-${crypto.randomUUID()}`);
  try {
    await Deno.writeFile(probe, new Uint8Array(0), { createNew: true });
    await Deno.remove(probe);
  } catch (err) {
    const reason = err instanceof Deno.errors.NotFound
      ? "directory not found"
      : err instanceof Deno.errors.PermissionDenied
      ? "permission denied"
      : err instanceof Error
      ? err.message
      : String(err);
    throw new ConfigError(
      `Cannot save binary parts in --save-binary "${dir}": ${reason} (create the directory or choose another)`,
    );
  }
}

function listenCommand() {
  return new Command("listen")
    .description("print messages of a type as JSON lines (queued ones first)")
    .option("--dir <dir>", "the connector's state directory (env SOCKKIT_BROKER_DIR)")
    .requiredOption("--type <type>", "message type to listen to")
    .option("--count <n>", "exit after this many messages", intArg(1))
    .option("--echo", "answer each request with its own data and binary part")
    .option("--save-binary <dir>", "write each binary part to DIR/ID.bin")
    .option(
      "--tag <tag>",
      "only messages with this tag (live ones: queued messages are left queued)",
    )
    .action(action(async (o) => {
      if (o.saveBinary) await checkWritableDir(o.saveBinary);
      await using c = await localClient(o.dir);
      using stop = shutdownSignal();
      let n = 0;
      let failure: Error | undefined;
      const { promise: done, resolve: finish } = Promise.withResolvers<void>();
      /** Thrown for a message this listener will not take (it stays queued). */
      const notMine = new Error("not taken");
      stop.addEventListener("abort", () => finish(), { once: true });
      await c.listen(o.type, (m) => {
        // after a failure or the last of --count, refuse the rest: they stay queued
        if (failure || (o.count !== undefined && n >= o.count)) throw notMine;
        const line = printable(m);
        if (o.saveBinary && m.binary.length > 0) {
          const path = join(o.saveBinary, `${m.id}.bin`);
          try {
            Deno.writeFileSync(path, m.binary);
          } catch (err) {
            // Refuse the message (the client leaves it unconfirmed, so it and
            // every later one stay queued for the next listener) and stop.
            failure ??= new Error(
              `Cannot save the binary part of message ${m.id} to "${path}": ${
                errorText(err)
              } (the message stays queued for the next listener)`,
            );
            finish();
            throw failure;
          }
          line.binaryFile = path;
        }
        console.log(JSON.stringify(line));
        if (o.echo && m.timeout !== undefined) {
          c.send(m.src, m.type, m.data, { replyTo: m.id, binary: m.binary }).catch(() => {});
        }
        if (o.count !== undefined && ++n >= o.count) finish();
      }, o.tag !== undefined ? { tag: o.tag } : {});
      console.error(`listening for "${o.type}"`);
      await done;
      await c.sync().catch(() => {});
      if (failure) throw failure;
      return 0;
    }));
}

function requestCommand() {
  return messageCommand("request", "send a request and print the response as a JSON line")
    .option("--timeout <duration>", "how long to wait for the response", durationOpt, 10_000)
    .action(action(async (o) => {
      await using c = await localClient(o.dir);
      const binary = await readBinary(o.binaryFile);
      const m = await c.request(o.to, o.type, dataOf(o), {
        timeoutMs: o.timeout,
        ...(binary ? { binary } : {}),
      });
      console.log(JSON.stringify(printable(m)));
      return 0;
    }));
}

function benchCommand() {
  return new Command("bench")
    .description(
      "messages/s one way and acknowledged, round-trip p50/p99, next to nats-server (127.0.0.1:4222)",
    )
    .option(
      "--messages <n>",
      "messages per throughput run (default 200000; 20000 with --cluster)",
      intArg(1),
    )
    .option("--size <bytes>", "data bytes per message", intArg(0, 1 << 20), 100)
    .option("--ack", "also measure acknowledged sends (on unless --no-ack)", true)
    .option("--no-ack", "skip the acknowledged run")
    .option("--nats <url>", 'nats-server to measure in the same run ("" to skip)', "127.0.0.1:4222")
    .option(
      "--no-fsync",
      "main figures without fdatasync (the 1-in-flight figure is measured both ways regardless)",
    )
    .option("--serial <n>", "acknowledged messages sent one at a time", intArg(1), 2000)
    .option(
      "--connectors <n>",
      "client connectors (one thread each) sharing the one-way run",
      intArg(1, 200),
      1,
    )
    .option(
      "--cluster <url>",
      "measure the cluster instead, on this nats-server -js: acknowledged and cross-server messages/s next to JetStream and NATS core",
    )
    .option("--json", "print one JSON line")
    .action(action(async (o) => {
      const progress = startProgress("broker bench");
      if (o.cluster !== undefined) {
        const messages = o.messages ?? 20_000;
        progress.phase(`${messages} messages of ${o.size} bytes: JetStream, NATS core, cluster`);
        const rows = await runClusterBench({ natsUrl: o.cluster, messages, size: o.size })
          .finally(() => progress.stop());
        printBench(rows, o.json === true);
        return 0;
      }
      const messages = o.messages ?? 200_000;
      progress.phase(
        `${messages} messages of ${o.size} bytes: broker one way${
          o.ack ? `, acknowledged (${o.serial} one at a time with and without fsync)` : ""
        }, ` +
          `request/response${o.nats ? `, then nats-server${o.ack ? " and JetStream" : ""}` : ""}`,
      );
      const { rows, nats } = await runBrokerBench({
        messages,
        size: o.size,
        ack: o.ack,
        natsUrl: o.nats,
        fsync: o.fsync,
        serial: o.serial,
        connectors: o.connectors,
      }).finally(() => progress.stop());
      if (!nats && o.nats) console.error(`broker bench: nats-server at ${o.nats} not reachable`);
      printBench(rows, o.json === true);
      return 0;
    }));
}

/** Prints bench rows as a table (or one JSON line). */
function printBench(rows: BenchRow[], json: boolean): void {
  if (json) {
    console.log(JSON.stringify({ service: "broker", rows }));
    return;
  }
  const head = ["figure", "broker", "anchor (same run)", "anchor value", "ratio", "target"];
  const body = rows.map((r) => [
    r.figure,
    `${r.value} ${r.unit}`,
    r.anchor,
    r.anchorValue === null ? "-" : `${r.anchorValue} ${r.unit}`,
    r.anchorValue ? (r.value / r.anchorValue).toFixed(2) : "-",
    r.target,
  ]);
  const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  for (const line of [head, ...body]) {
    console.log(line.map((c, i) => c.padEnd(w[i]!)).join("  "));
  }
}

/** `--help` examples per broker subcommand (commands with their own keep theirs). */
const EXAMPLES: Record<string, string[]> = {
  serve: [
    "sockkit broker serve --dir state/server --file-dir files=received",
    "sockkit broker serve --port 10673 --certs /etc/sockkit/certs --dir /var/lib/sockkit/broker",
  ],
  connect: [
    "sockkit broker connect --name alice --server 127.0.0.1:10673 --dir state/alice",
    "sockkit broker connect --name alice --server broker.example:10673 --servername broker.example",
  ],
  send: [
    "sockkit broker send --dir state/alice --type chat --text hello --ack",
    "sockkit broker send --dir state/server --to alice --type jobs --data '{\"n\":1}'",
    "sockkit broker send --dir state/alice --type files --file ./photos",
  ],
  listen: [
    "sockkit broker listen --dir state/server --type chat",
    "sockkit broker listen --dir state/alice --type echo --echo",
  ],
  request: [
    "sockkit broker request --dir state/server --to alice --type echo --text ping --timeout 5s",
  ],
  bench: ["sockkit broker bench --messages 200000 --size 100"],
  peers: [
    "sockkit broker peers --dir state/server",
    "sockkit broker peers --dir state/server --json",
  ],
  queues: ["sockkit broker queues --dir state/server"],
  status: ["sockkit broker status --dir state/alice"],
  ping: ["sockkit broker ping alice --dir state/server --count 4"],
  block: ["sockkit broker block alice --dir state/server"],
  unblock: ["sockkit broker unblock alice --dir state/server"],
  revoke: ["sockkit broker revoke alice --dir state/server"],
  stop: ["sockkit broker stop --dir state/alice"],
  chat: [
    "sockkit broker chat --name ann",
    "sockkit broker chat --target machine-a.example --name bob",
    "sockkit broker chat --target machine-a.example --upload report.pdf",
  ],
};

/** Builds `sockkit broker`. */
export function brokerCommand(): Command {
  const cmd = new Command("broker")
    .description("persistent, secure two-way message broker between connectors (port 10673)");
  for (
    const c of [
      serveCommand(),
      connectCommand(),
      configTemplateCommand(),
      sendCommand(),
      publishCommand(),
      subscribeCommand(),
      listenCommand(),
      requestCommand(),
      benchCommand(),
      ...adminCommands(),
      chatCommand(),
    ]
  ) {
    const examples = EXAMPLES[c.name()];
    if (examples) {
      c.addHelpText(
        "after",
        `\nExamples:\n${examples.map((e) => `  ${e}`).join("\n")}`,
      );
    }
    cmd.addCommand(c as unknown as Command);
  }
  return cmd;
}
