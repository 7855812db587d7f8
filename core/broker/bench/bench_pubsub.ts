/**
 * The pub/sub case of `broker bench`: one publisher and 10 subscribers, all
 * client connectors linked over mutual TLS to one server connector that
 * forwards every published message to each subscriber; messages/s delivered
 * (published × subscribers over the time from the first publish to the last
 * delivery). Its anchor, in the same run: a private `nats-server` on a free
 * port with the same fan-out on core NATS (one publishing and 10 subscribing
 * connections of the `nats` client).
 *
 * @module
 */
import { join } from "node:path";
import { initPki, issueClient, loadCertsDirTls } from "../../pki/mod.ts";
import { delay } from "../../async/mod.ts";
import { Connector } from "../connector.ts";
import { startNatsServer } from "../_nats_process.ts";
import { PUBSUB_TYPE, type PubSubResult, type PubSubWork } from "./bench_pubsub_worker.ts";

/** Options for {@linkcode pubsubFigures}. */
export interface PubSubBenchOptions {
  /** Messages published per measured run (each delivered to every subscriber). */
  messages: number;
  /** Data bytes per message. */
  size: number;
  /** Subscribers. Default 10. */
  subscribers?: number;
  /** Measure nats-server too. Default `true`. */
  nats?: boolean;
  /** Give up on a run after this long, ms. Default 60000. */
  timeoutMs?: number;
  /** `fdatasync` the connectors' journals, queues and received-id logs. Default `true`. */
  fsync?: boolean;
}

/** Delivered messages/s of the broker and of nats-server (`undefined`: not measured, see `note`). */
export interface PubSubFigures {
  broker: number;
  nats: number | undefined;
  /** Why nats-server was not measured. */
  note?: string;
}

function rate(r: { delivered: number; ms: number }, want: number, what: string, timeoutMs: number) {
  if (r.delivered < want) {
    throw new Error(
      `${what} pub/sub bench: ${r.delivered} of ${want} messages delivered within ${timeoutMs} ms (lower --messages)`,
    );
  }
  return r.delivered / (r.ms / 1000);
}

/** The broker: the server connector here, the publisher and subscribers in a worker thread. */
async function brokerRate(o: Required<PubSubBenchOptions>): Promise<number> {
  const dir = await Deno.makeTempDir({ prefix: "sockkit-broker-pubsub-bench-" });
  const worker = new Worker(new URL("./bench_pubsub_worker.ts", import.meta.url), {
    type: "module",
  });
  try {
    const certs = join(dir, "certs");
    const p = await initPki(certs);
    const names = ["pub", ...Array.from({ length: o.subscribers }, (_, i) => `sub${i}`)];
    for (const n of names) await issueClient(certs, n);
    await using server = await Connector.start({
      name: "server",
      dir: join(dir, "server"),
      localSocket: false,
      fsync: o.fsync,
      server: { host: "127.0.0.1", port: 0, tls: await loadCertsDirTls(certs) },
    });
    const work: PubSubWork = {
      port: server.port,
      ca: p.ca,
      clients: names.map((name) => ({ name, cert: p.clientCert(name), key: p.clientKey(name) })),
      dir: join(dir, "clients"),
      messages: o.messages,
      size: o.size,
      timeoutMs: o.timeoutMs,
      fsync: o.fsync,
    };
    const result = new Promise<PubSubResult>((resolve) => {
      worker.onmessage = (e: MessageEvent<PubSubResult>) => resolve(e.data);
      worker.onerror = (e) => {
        e.preventDefault();
        resolve({ op: "error", message: e.message });
      };
    });
    worker.postMessage(work);
    const r = await result;
    if (r.op === "error") throw new Error(`broker pub/sub bench worker: ${r.message}`);
    return rate(r, o.messages * o.subscribers, "broker", o.timeoutMs);
  } finally {
    worker.terminate();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/** nats-server: one publishing and `subscribers` subscribing connections, here. */
async function natsRate(o: Required<PubSubBenchOptions>): Promise<number> {
  const { connect } = await import("nats");
  await using server = await startNatsServer();
  if (!server) throw new Error("nats-server is not on the PATH or did not start");
  const pub = await connect({ servers: server.url, timeout: 5000 });
  const subs = [];
  try {
    let delivered = 0;
    for (let i = 0; i < o.subscribers; i++) {
      const nc = await connect({ servers: server.url, timeout: 5000 });
      subs.push(nc);
      nc.subscribe(PUBSUB_TYPE, { callback: () => void delivered++ });
      await nc.flush();
    }
    const data = new TextEncoder().encode("x".repeat(o.size));
    const run = async (n: number) => {
      delivered = 0;
      const t0 = performance.now();
      for (let i = 0; i < n; i++) {
        pub.publish(PUBSUB_TYPE, data);
        if ((i & 1023) === 0) await pub.flush();
      }
      const end = Date.now() + o.timeoutMs;
      while (delivered < n * o.subscribers && Date.now() < end) await delay(5);
      return { delivered, ms: performance.now() - t0 };
    };
    await run(Math.max(1, Math.floor(o.messages / 4)));
    return rate(await run(o.messages), o.messages * o.subscribers, "nats-server", o.timeoutMs);
  } finally {
    await Promise.all([pub, ...subs].map((nc) => nc.close()));
  }
}

/** Measures the broker's pub/sub fan-out and, unless turned off, nats-server's in the same run. */
export async function pubsubFigures(options: PubSubBenchOptions): Promise<PubSubFigures> {
  const o: Required<PubSubBenchOptions> = {
    subscribers: 10,
    nats: true,
    timeoutMs: 60_000,
    fsync: true,
    ...options,
  };
  const broker = await brokerRate(o);
  if (!o.nats) return { broker, nats: undefined, note: "nats-server skipped" };
  try {
    return { broker, nats: await natsRate(o) };
  } catch (err) {
    const why = (err as Error).message;
    return { broker, nats: undefined, note: `nats-server not measured: ${why}` };
  }
}
