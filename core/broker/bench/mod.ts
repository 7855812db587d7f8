import { join } from "node:path";
import { initPki, issueClient, loadCertsDirTls } from "../../pki/mod.ts";
import type { BenchCommand } from "./bench_worker.ts";
import { Connector } from "../connector.ts";
import { pubsubFigures } from "./bench_pubsub.ts";
import { jetStreamFigure } from "./bench_jetstream.ts";
import { delay } from "../../async/mod.ts";
import type { BenchRow } from "./row.ts";
import { pct } from "../../stats/mod.ts";
import { keepInFlight } from "./in_flight.ts";

/** Options for {@linkcode runBrokerBench}. */
export interface BrokerBenchOptions {
  /** Messages per throughput run. Default 200000. */
  messages?: number;
  /** Data bytes per message. Default 100. */
  size?: number;
  /** Also run the acknowledged figure. Default `true`. */
  ack?: boolean;
  /** Round trips for the latency figure. Default 2000. */
  roundTrips?: number;
  /** Messages in flight in the acknowledged run. Default 4096. */
  window?: number;
  /** NATS server URL for the anchor. Default `127.0.0.1:4222`; `""` skips it. */
  natsUrl?: string;
  /**
   * `fdatasync` the connectors' journals, queues and received-id logs in the
   * main figures (`--no-fsync`: false). Default `true`. The one-in-flight
   * figure is measured both ways regardless.
   */
  fsync?: boolean;
  /** Acknowledged messages sent one at a time (the one-in-flight figure). Default 2000. */
  serial?: number;
  /** Client connectors (each in its own worker) sharing the one-way run. Default 1. */
  connectors?: number;
}

interface Figures {
  oneWay: number;
  acked: number | null;
  p50: number;
  p99: number;
  /** Acknowledged messages/s with one in flight. */
  serial: number;
}

/** Runs commands in the bench worker, one at a time. */
class WorkerPeer {
  readonly #w: Worker;
  #next: ((v: Record<string, unknown>) => void) | undefined;
  constructor() {
    this.#w = new Worker(new URL("./bench_worker.ts", import.meta.url), { type: "module" });
    this.#w.onmessage = (e) => this.#next?.(e.data);
  }
  call(cmd: BenchCommand): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      this.#next = (v) =>
        v.op === "error" ? reject(new Error(`bench worker: ${v.message}`)) : resolve(v);
      this.#w.postMessage(cmd);
    });
  }
  terminate(): void {
    this.#w.terminate();
  }
}

/**
 * The server connector in this thread and a client connector in a Web Worker
 * (its own thread, as a separate connector process would be), over mutual
 * TLS on loopback.
 */
async function brokerFigures(
  o: Required<BrokerBenchOptions>,
  fsync: boolean,
  only: "all" | "serial",
): Promise<Figures> {
  const dir = await Deno.makeTempDir({ prefix: "sockkit-broker-bench-" });
  const peers = Array.from({ length: o.connectors }, () => new WorkerPeer());
  const peer = peers[0]!;
  try {
    const certs = join(dir, "certs");
    const p = await initPki(certs);
    const names = peers.map((_, i) => i === 0 ? "bench" : `bench-${i}`);
    for (const name of names) await issueClient(certs, name);
    const tls = await loadCertsDirTls(certs);
    await using server = await Connector.start({
      name: "server",
      dir: join(dir, "server"),
      fsync,
      server: { host: "127.0.0.1", port: 0, tls },
    });
    await Promise.all(peers.map((w, i) =>
      w.call({
        op: "start",
        port: server.port,
        ca: p.ca,
        cert: p.clientCert(names[i]!),
        key: p.clientKey(names[i]!),
        dir: join(dir, `client-${i}`),
        name: names[i]!,
        fsync,
      })
    ));

    server.listen("bench-ack", () => {});
    const serial = async () => {
      await peer.call({ op: "serial", n: Math.min(200, o.serial), size: o.size }); // warm-up
      return (await peer.call({ op: "serial", n: o.serial, size: o.size })).rate as number;
    };
    if (only === "serial") {
      const rate = await serial();
      await Promise.all(peers.map((w) => w.call({ op: "close" })));
      return { oneWay: 0, acked: null, p50: 0, p99: 0, serial: rate };
    }

    // fire-and-forget (after a warm-up run of a quarter of the messages)
    let got = 0;
    let target = 0;
    let done: () => void = () => {};
    server.listen("bench", () => {
      if (++got === target) done();
    });
    const run = async (n: number) => {
      got = 0;
      target = n;
      const all = new Promise<void>((r) => done = r);
      const t0 = performance.now();
      const each = Math.floor(n / peers.length);
      await Promise.all(
        peers.map((w, i) =>
          w.call({ op: "oneway", n: i === 0 ? n - each * (peers.length - 1) : each, size: o.size })
        ),
      );
      await all;
      return n / ((performance.now() - t0) / 1000);
    };
    await run(Math.max(1, Math.floor(o.messages / 4)));
    const oneWay = await run(o.messages);

    let acked: number | null = null;
    let one = 0;
    if (o.ack) {
      one = await serial();
      acked = (await peer.call({ op: "acked", n: o.messages, size: o.size, window: o.window }))
        .rate as number;
    }
    server.listen("echo", (m) => void server.send(m.src, "echo", m.data, { replyTo: m.id }));
    const r = await peer.call({ op: "rtt", n: o.roundTrips, size: o.size });
    await Promise.all(peers.map((w) => w.call({ op: "close" })));
    return { oneWay, acked, p50: r.p50 as number, p99: r.p99 as number, serial: one };
  } finally {
    for (const w of peers) w.terminate();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/** The same figures for nats-server through the `nats` client. */
async function natsFigures(o: Required<BrokerBenchOptions>): Promise<Figures | undefined> {
  const { connect } = await import("nats");
  let nc;
  try {
    nc = await connect({ servers: o.natsUrl, timeout: 2000 });
  } catch {
    return undefined;
  }
  try {
    const data = new TextEncoder().encode("x".repeat(o.size));
    const subj = `sockkit.bench.${crypto.randomUUID().slice(0, 8)}`;
    let got = 0;
    let done: () => void = () => {};
    const all = new Promise<void>((r) => done = r);
    const sub = nc.subscribe(subj, {
      callback: () => {
        if (++got === o.messages) done();
      },
    });
    await nc.flush();
    const t0 = performance.now();
    for (let i = 0; i < o.messages; i++) {
      nc.publish(subj, data);
      if ((i & 8191) === 0) await delay(0);
    }
    await all;
    const oneWay = o.messages / ((performance.now() - t0) / 1000);
    sub.unsubscribe();

    const rpc = `${subj}.rpc`;
    const rsub = nc.subscribe(rpc, { callback: (_e, m) => m.respond(m.data) });
    await nc.flush();
    let acked: number | null = null;
    if (o.ack) {
      const t1 = performance.now();
      const c = nc;
      await keepInFlight(o.messages, o.window, () => c.request(rpc, data, { timeout: 30000 }));
      acked = o.messages / ((performance.now() - t1) / 1000);
    }
    const rtts: number[] = [];
    // warm-up, untimed (as the broker side's)
    for (let i = 0; i < Math.min(200, o.roundTrips); i++) {
      await nc.request(rpc, data, { timeout: 5000 });
    }
    for (let i = 0; i < o.roundTrips; i++) {
      const t = performance.now();
      await nc.request(rpc, data, { timeout: 5000 });
      rtts.push(performance.now() - t);
    }
    rtts.sort((a, b) => a - b);
    rsub.unsubscribe();
    return { oneWay, acked, p50: pct(rtts, 0.5), p99: pct(rtts, 0.99), serial: 0 };
  } finally {
    await nc.close();
  }
}

/**
 * Measures the broker (a server connector in this thread, a client
 * connector in a worker thread, over mutual TLS on loopback) and, in the same run, nats-server through the `nats` client:
 * messages/s one way, acknowledged messages/s (NATS: request/reply with the
 * same window), and round-trip p50/p99.
 */
export async function runBrokerBench(options: BrokerBenchOptions = {}): Promise<{
  rows: BenchRow[];
  nats: boolean;
}> {
  const o: Required<BrokerBenchOptions> = {
    messages: options.messages ?? 200_000,
    size: options.size ?? 100,
    ack: options.ack ?? true,
    roundTrips: options.roundTrips ?? 2000,
    window: options.window ?? 4096,
    natsUrl: options.natsUrl ?? "127.0.0.1:4222",
    fsync: options.fsync ?? true,
    serial: options.serial ?? 2000,
    connectors: options.connectors ?? 1,
  };
  const b = await brokerFigures(o, o.fsync, "all");
  // the one-in-flight figure both ways: the other durability on a fresh pair of connectors
  const other = o.ack
    ? await brokerFigures({ ...o, connectors: 1 }, !o.fsync, "serial")
    : undefined;
  const n = o.natsUrl ? await natsFigures(o) : undefined;
  const js = o.ack ? await jetStreamFigure(o.natsUrl, o.serial, o.size) : undefined;
  const a = (v: number | null | undefined) => v === undefined || v === null ? null : Math.round(v);
  const ms = (v: number | undefined) => v === undefined ? null : Math.round(v * 1000) / 1000;
  const durability = o.fsync ? "fsync on" : "--no-fsync";
  const rows: BenchRow[] = [
    {
      figure: `${o.size}-byte messages/s one way${
        o.connectors > 1 ? `, ${o.connectors} client connectors` : ""
      }`,
      value: Math.round(b.oneWay),
      unit: "msg/s",
      anchor: "nats-server core pub/sub (memory only)",
      anchorValue: a(n?.oneWay),
      target: ">= 1.0x anchor",
    },
  ];
  if (o.ack) {
    rows.push({
      figure: `${o.size}-byte messages/s acknowledged, ${o.window} in flight (${durability})`,
      value: Math.round(b.acked ?? 0),
      unit: "msg/s",
      anchor: `nats-server request/reply, ${o.window} in flight (no storage)`,
      anchorValue: a(n?.acked),
      target: ">= 50000",
    });
    const jsAnchor = js
      ? `JetStream ${js.version} publish-with-ack, 1 in flight (file store, no fsync per message)`
      : "JetStream publish-with-ack (not available: no nats-server with -js)";
    const noFsync = o.fsync ? other!.serial : b.serial;
    const fsync = o.fsync ? b.serial : other!.serial;
    rows.push({
      figure: `${o.size}-byte acknowledged messages/s, 1 in flight (--no-fsync: no fdatasync)`,
      value: Math.round(noFsync),
      unit: "msg/s",
      anchor: jsAnchor,
      anchorValue: a(js?.rate),
      target: ">= 1.0x anchor",
    }, {
      figure:
        `${o.size}-byte acknowledged messages/s, 1 in flight (fsync on: fdatasync per commit)`,
      value: Math.round(fsync),
      unit: "msg/s",
      anchor: jsAnchor,
      anchorValue: a(js?.rate),
      target: ">= 0.5x anchor",
    });
  }
  rows.push({
    figure: "request/response round trip p50",
    value: ms(b.p50)!,
    unit: "ms",
    anchor: "nats-server request p50",
    anchorValue: ms(n?.p50),
    target: "-",
  }, {
    figure: "request/response round trip p99",
    value: ms(b.p99)!,
    unit: "ms",
    anchor: "nats-server request p99",
    anchorValue: ms(n?.p99),
    target: "<= 2.0x anchor",
  });
  // pub/sub fan-out (not in a --connectors sweep, which measures one-way growth)
  if (o.connectors === 1) {
    const ps = await pubsubFigures({
      messages: Math.max(1, Math.floor(o.messages / 10)),
      size: o.size,
      nats: o.natsUrl !== "",
      fsync: o.fsync,
    });
    rows.push({
      figure: `${o.size}-byte messages/s delivered, 1 publisher to 10 subscribers (${durability})`,
      value: Math.round(ps.broker),
      unit: "msg/s",
      anchor: ps.note ?? "nats-server core pub/sub fan-out (memory only; started on a free port)",
      anchorValue: a(ps.nats),
      target: "-",
    });
  }
  return { rows, nats: n !== undefined };
}

export { runClusterBench } from "./cluster.ts";
export type { BenchRow } from "./row.ts";
