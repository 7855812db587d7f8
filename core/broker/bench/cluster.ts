import { connect, type NatsConnection, RetentionPolicy, StorageType } from "nats";
import type { BenchRow } from "./row.ts";
import { keepInFlight } from "./in_flight.ts";
import { ClusterNode } from "../cluster/node.ts";
import { clusterNames } from "../cluster/names.ts";

/** Options for {@linkcode runClusterBench}. */
export interface ClusterBenchOptions {
  /** nats-server (with JetStream) to measure on. */
  natsUrl: string;
  /** Messages per run. Default 20000. */
  messages?: number;
  /** Bytes per message. Default 100. */
  size?: number;
  /** Stores in flight at once (sends awaiting JetStream's acknowledgement). Default 256. */
  window?: number;
}

/** Runs `send` for indices 0..n-1 with at most `window` unsettled; resolves with the seconds taken. */
async function windowed(n: number, window: number, send: (i: number) => Promise<unknown>) {
  const t0 = performance.now();
  await keepInFlight(n, window, send);
  return (performance.now() - t0) / 1000;
}

const rate = (n: number, s: number) => Math.round(n / s);

/** NATS core: messages/s from one connection's publish to another's subscription. */
async function natsCore(url: string, n: number, payload: Uint8Array): Promise<number> {
  const pub = await connect({ servers: url });
  const sub = await connect({ servers: url });
  try {
    let got = 0;
    const all = Promise.withResolvers<void>();
    const s = sub.subscribe("sockkit.bench.core", {
      callback: () => void (++got === n && all.resolve()),
    });
    await sub.flush();
    const t0 = performance.now();
    for (let i = 0; i < n; i++) pub.publish("sockkit.bench.core", payload);
    await pub.flush();
    await all.promise;
    const secs = (performance.now() - t0) / 1000;
    s.unsubscribe();
    return rate(n, secs);
  } finally {
    await Promise.all([pub.close(), sub.close()]);
  }
}

/** JetStream: acknowledged publishes/s to a plain file stream, `window` in flight. */
async function jetStream(
  nc: NatsConnection,
  n: number,
  payload: Uint8Array,
  window: number,
): Promise<number> {
  const jsm = await nc.jetstreamManager();
  const name = `sockkit_bench_${crypto.randomUUID().slice(0, 8)}`;
  await jsm.streams.add({
    name,
    subjects: [`${name}.>`],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
  });
  try {
    const js = nc.jetstream();
    const secs = await windowed(
      n,
      window,
      (i) => js.publish(`${name}.x`, payload, { msgID: `${i}` }),
    );
    return rate(n, secs);
  } finally {
    await jsm.streams.delete(name).catch(() => {});
  }
}

/**
 * The cluster's own figures on a real nats-server, next to NATS anchors
 * measured in the same run: acknowledged sends/s (stored in a client's
 * mailbox, the acknowledgement a clustered server gives a sender) against
 * JetStream publish with the same window, and cross-server delivery/s (sent
 * by server A, read in order by server B from the mailbox and removed)
 * against NATS core publish to a subscriber.
 */
export async function runClusterBench(options: ClusterBenchOptions): Promise<BenchRow[]> {
  const n = options.messages ?? 20_000;
  const window = options.window ?? 256;
  const payload = new Uint8Array(options.size ?? 100).fill(120);
  const cluster = `bench-${crypto.randomUUID().slice(0, 8)}`;
  const open = (server: string) =>
    ClusterNode.open({ servers: [options.natsUrl], cluster, server });
  await using a = await open("A");
  await using b = await open("B");
  const jsAnchor = await jetStream(a.nc, n, payload, window);
  const coreAnchor = await natsCore(options.natsUrl, n, payload);

  // Acknowledged: stored for an away client.
  const ackSecs = await windowed(n, window, (i) => a.mailboxes.send("away", `a${i}`, payload));
  // Cross-server: A sends while B delivers the client's mailbox.
  let got = 0;
  const all = Promise.withResolvers<void>();
  const t0 = performance.now();
  await using _reader = await b.mailboxes.read("here", () => {
    if (++got === n) all.resolve();
  }, { window: 64 });
  await windowed(n, window, (i) => a.mailboxes.send("here", `h${i}`, payload));
  await all.promise;
  const crossSecs = (performance.now() - t0) / 1000;
  // Everything ClusterNode.open made for this throwaway cluster (a KV bucket is stream KV_<bucket>).
  const jsm = await a.nc.jetstreamManager();
  const names = clusterNames(cluster);
  for (
    const stream of [
      names.mailboxStream,
      names.typeStream,
      names.pubStream,
      ...[names.presenceBucket, names.serversBucket, names.typeHoldersBucket].map((b) => `KV_${b}`),
    ]
  ) await jsm.streams.delete(stream).catch(() => {});
  return [
    {
      figure: "cluster acknowledged sends (stored in JetStream)",
      value: rate(n, ackSecs),
      unit: "msg/s",
      anchor: `JetStream publish, ${window} in flight`,
      anchorValue: jsAnchor,
      target: "-",
    },
    {
      figure: "cluster cross-server delivery (A sends, B delivers in order)",
      value: rate(n, crossSecs),
      unit: "msg/s",
      anchor: "NATS core publish to a subscriber",
      anchorValue: coreAnchor,
      target: "-",
    },
  ];
}
