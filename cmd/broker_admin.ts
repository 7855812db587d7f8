/**
 * Operator commands that talk to a running connector through its local
 * socket: peers, queues, status, ping, block, unblock, revoke, disconnect, log-level, reload,
 * stop.
 */
import { Command } from "@commander-js/extra-typings";
import { parse } from "../core/config/mod.ts";
import { LOG_LEVELS } from "../core/log/mod.ts";
import type { BrokerClient } from "../core/broker/mod.ts";
import { action, intArg, optionParser } from "./_cli.ts";
import { localClient } from "./broker_run.ts";
import { delay } from "../core/async/mod.ts";

type Row = Record<string, unknown>;

/** Prints rows as an aligned table. */
function table(rows: Row[], columns: Array<[key: string, title: string]>, empty: string): void {
  if (rows.length === 0) {
    console.log(empty);
    return;
  }
  const cells = rows.map((r) => columns.map(([k]) => String(r[k] ?? "")));
  const w = columns.map(([, t], i) => Math.max(t.length, ...cells.map((c) => c[i]!.length)));
  console.log(columns.map(([, t], i) => t.padEnd(w[i]!)).join("  ").trimEnd());
  for (const c of cells) console.log(c.map((v, i) => v.padEnd(w[i]!)).join("  ").trimEnd());
}

async function withClient<T>(
  dir: string | undefined,
  fn: (c: BrokerClient) => Promise<T>,
): Promise<T> {
  await using c = await localClient(dir);
  return await fn(c);
}

function base(name: string, description: string) {
  return new Command(name)
    .description(description)
    .option("--dir <dir>", "the connector's state directory (env SOCKKIT_BROKER_DIR)")
    .option("--json", "print JSON instead of a table");
}

function peersCommand() {
  return base(
    "peers",
    "peers of the running connector: address, certificate CN, since, messages in/out",
  )
    .action(action(async (o) => {
      const peers = await withClient(o.dir, (c) => c.admin("peers")) as Row[];
      if (o.json) return void console.log(JSON.stringify(peers));
      table(
        peers.map((p) => ({
          ...p,
          state: p.blocked ? "blocked" : p.connected ? "connected" : "away",
        })),
        [
          ["name", "PEER"],
          ["state", "STATE"],
          ["address", "ADDRESS"],
          ["cn", "CERT CN"],
          [
            "since",
            "CONNECTED SINCE",
          ],
          ["msgsIn", "IN"],
          ["msgsOut", "OUT"],
          // a clustered server: which server of the cluster each client is connected to
          ...(peers.some((p) => "server" in p) ? [["server", "SERVER"] as [string, string]] : []),
        ],
        "no peers",
      );
    }));
}

function queuesCommand() {
  return base("queues", "journal size per peer and queue size per message type (messages, bytes)")
    .action(action(async (o) => {
      const q = await withClient(o.dir, (c) => c.admin("queues")) as {
        journals: Row[];
        types: Row[];
        // a clustered server: what waits in JetStream
        cluster?: { mailboxes: Row[]; types: Row[] } | { error: string };
      };
      if (o.json) return void console.log(JSON.stringify(q));
      const c = q.cluster && "mailboxes" in q.cluster ? q.cluster : undefined;
      const age = (r: Row) => ({ ...r, oldest: `${Math.round(Number(r.oldestMs) / 1000)}s` });
      const rows = [
        ...q.journals.map((j) => ({ what: `journal to ${j.peer}`, ...j })),
        ...q.types.map((t) => ({ what: `queue of type ${t.type}`, ...t })),
        ...(c?.mailboxes ?? []).map((m) => ({ what: `cluster mailbox of ${m.key}`, ...age(m) })),
        ...(c?.types ?? []).map((t) => ({ what: `cluster queue of type ${t.key}`, ...age(t) })),
      ];
      table(
        rows,
        [
          ["what", "QUEUE"],
          ["messages", "MESSAGES"],
          ["bytes", "BYTES"],
          ...(q.cluster ? [["oldest", "OLDEST"] as [string, string]] : []),
        ],
        "no queues",
      );
      if (q.cluster && "error" in q.cluster) console.error(q.cluster.error);
    }));
}

function statusCommand() {
  return base("status", "the running connector: name, role, port, peers, queued messages")
    .action(action(async (o) => {
      const s = await withClient(o.dir, (c) => c.admin("status")) as Row;
      if (o.json) return void console.log(JSON.stringify(s));
      for (const [k, v] of Object.entries(s)) console.log(`${k.padEnd(10)} ${v}`);
    }));
}

function pingCommand() {
  return base("ping", "round trips to a connected peer over the broker link, like ping")
    .argument("<peer>", "peer name")
    .option("--count <n>", "round trips", intArg(1, 1_000_000), 4)
    .option("--interval <duration>", "pause between round trips", optionParser(parse.duration), 200)
    .action(action(async (peer, o) => {
      const times: number[] = [];
      await withClient(o.dir, async (c) => {
        for (let i = 1; i <= o.count; i++) {
          const r = await c.admin("ping", { peer }) as { ms: number };
          times.push(r.ms);
          if (o.json) console.log(JSON.stringify({ peer, seq: i, ms: r.ms }));
          else console.log(`reply from ${peer}: seq=${i} time=${r.ms.toFixed(3)} ms`);
          if (i < o.count) await delay(o.interval);
        }
      });
      if (!o.json) {
        const min = Math.min(...times), max = Math.max(...times);
        const avg = times.reduce((a, b) => a + b, 0) / times.length;
        console.log(
          `${times.length} round trips, min/avg/max = ${min.toFixed(3)}/${avg.toFixed(3)}/${
            max.toFixed(3)
          } ms`,
        );
      }
    }));
}

function peerOp(
  op: "block" | "unblock" | "revoke" | "disconnect",
  description: string,
  done: (r: Row) => string,
) {
  return base(op, description)
    .argument("<peer>", "peer name")
    .action(action(async (peer, o) => {
      const r = await withClient(o.dir, (c) => c.admin(op, { peer })) as Row;
      console.log(o.json ? JSON.stringify(r) : done(r));
    }));
}

function filterCommand() {
  return base(
    "filter",
    "show the server's client allow/deny lists, or add/remove an entry; connected clients it now refuses are disconnected at once",
  )
    .argument("[action]", "show, add or remove", "show")
    .argument("[list]", "allow or deny")
    .argument("[entry]", "name:NAME, ip:ADDRESS or subnet:ADDRESS/BITS")
    .addHelpText(
      "after",
      `
Examples:
  sockkit broker filter
  sockkit broker filter add deny name:mallory
  sockkit broker filter add allow subnet:10.0.0.0/8
  sockkit broker filter remove deny name:mallory

Changes last until the server stops; put lasting lists in --allow/--deny or the config file.`,
    )
    .action(action(async (act, list, entry, o) => {
      const args: Row = { action: act };
      if (list !== undefined) args.list = list;
      if (entry !== undefined) args.entry = entry;
      const r = await withClient(o.dir, (c) => c.admin("filter", args)) as {
        allow: string[];
        deny: string[];
        changed?: boolean;
        disconnected?: string[];
      };
      if (o.json) return void console.log(JSON.stringify(r));
      if (r.changed === false) {
        console.log(
          `no change: ${entry} was ${act === "add" ? "already" : "not"} on the ${list} list`,
        );
      }
      console.log(
        `allow ${r.allow.length ? r.allow.join(" ") : "(empty: every valid certificate)"}`,
      );
      console.log(`deny  ${r.deny.length ? r.deny.join(" ") : "(empty)"}`);
      if (r.disconnected?.length) console.log(`disconnected ${r.disconnected.join(", ")}`);
    }));
}

function logLevelCommand() {
  return base("log-level", "show or change the running connector's log level, without a restart")
    .argument("[level]", `new level: ${LOG_LEVELS.join(", ")}`)
    .action(action(async (level, o) => {
      const r = await withClient(
        o.dir,
        (c) => c.admin("log-level", level === undefined ? {} : { level }),
      ) as Row;
      if (o.json) console.log(JSON.stringify(r));
      else if (level === undefined) console.log(`log level ${r.level}`);
      else console.log(`log level ${r.level} (was ${r.previous})`);
    }));
}

function stopCommand() {
  return base("stop", "stop the running connector gracefully (journals are kept)")
    .action(action(async (o) => {
      const r = await withClient(o.dir, (c) => c.admin("stop")) as Row;
      console.log(o.json ? JSON.stringify(r) : "stopping");
    }));
}

function reloadCommand() {
  return base(
    "reload",
    "make the server connector re-read its certificate, key, client allow-list and revocations " +
      "(new links use them; linked clients now revoked are dropped)",
  )
    .action(action(async (o) => {
      const r = await withClient(o.dir, (c) => c.admin("reload")) as Row;
      if (o.json) return void console.log(JSON.stringify(r));
      console.log(
        `reloaded ${r.certs}: ${r.allowed} allow-list entries, ${r.closed_revoked} revoked clients dropped`,
      );
    }));
}

/** The operator subcommands of `sockkit broker`. */
export function adminCommands(): Command[] {
  return [
    peersCommand(),
    queuesCommand(),
    statusCommand(),
    pingCommand(),
    peerOp(
      "block",
      "stop a peer's traffic both ways (it stays queued) until unblock",
      (r) => `blocked ${r.peer}: its traffic stays queued until "sockkit broker unblock ${r.peer}"`,
    ),
    peerOp("unblock", "let a blocked peer's traffic flow again", (r) => `unblocked ${r.peer}`),
    peerOp(
      "revoke",
      "revoke a client's certificate (server connector) and disconnect it now",
      (r) =>
        `revoked ${r.peer}${r.disconnected ? " and disconnected it" : " (it was not connected)"}`,
    ),
    peerOp(
      "disconnect",
      "close a peer's link now without revoking it (a client connector reconnects)",
      (r) => r.disconnected ? `disconnected ${r.peer}` : `${r.peer} was not connected`,
    ),
    filterCommand(),
    logLevelCommand(),
    reloadCommand(),
    stopCommand(),
  ] as unknown as Command[];
}
