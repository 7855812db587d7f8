/// <reference lib="deno.worker" />
/**
 * The load generator's clients, run in a Web Worker so that they use another
 * core than the server. Messages: in `BenchWorkerRequest`, out
 * `BenchWorkerMessage`.
 */
import { connect, type Connection } from "../../net/mod.ts";
import type { ClientTlsOptions } from "../../net/mod.ts";
import { buildPayload, type Shape } from "./bench_payload.ts";
import { watchAcks } from "../client.ts";
import { delay } from "../../async/mod.ts";

/** What the worker is asked to do. */
export interface BenchWorkerRequest {
  host: string;
  port: number;
  tls: ClientTlsOptions;
  run: string;
  /** Client numbers this worker runs. */
  clients: number[];
  /** Objects per client. */
  perClient: number;
  shape: Shape;
  /** Objects/s per client; 0 = as fast as possible. */
  rate: number;
}

/** Messages from the worker. */
export type BenchWorkerMessage =
  | { type: "ready" }
  | { type: "progress"; sent: number; acked: number }
  | {
    type: "done";
    sent: number;
    acked: number;
    /** Latency samples, ms, one per chunk, with the chunk's object count as weight. */
    latencies: number[];
    weights: number[];
    errors: string[];
  }
  | { type: "error"; message: string };

interface Stats {
  sent: number;
  acked: number;
  latencies: number[];
  weights: number[];
  errors: string[];
}

/** Builds the payload and connects; returns the function that sends it and waits for acks. */
async function prepareClient(
  req: BenchWorkerRequest,
  client: number,
  stats: Stats,
): Promise<() => Promise<void>> {
  const chunks = buildPayload(req.run, client, req.perClient, req.shape);
  const conn: Connection = await connect({ host: req.host, port: req.port, tls: req.tls });
  const sentAt: number[] = [];
  let head = 0;
  let acked = 0;
  let done!: () => void;
  const allAcked = new Promise<void>((r) => done = r);
  watchAcks(conn, (n) => {
    if (n <= acked) return;
    stats.acked += n - acked;
    acked = n;
    const now = performance.now();
    while (head < chunks.length && chunks[head]!.upTo <= n && sentAt[head] !== undefined) {
      const c = chunks[head]!;
      stats.latencies.push(now - sentAt[head]!);
      stats.weights.push(c.upTo - (head > 0 ? chunks[head - 1]!.upTo : 0));
      head++;
    }
    if (n >= req.perClient) done();
  }, (line) => stats.errors.push(line));
  conn.closed.then(() => done());
  return async () => {
    const t0 = performance.now();
    for (let i = 0; i < chunks.length; i++) {
      const c = chunks[i]!;
      const before = i > 0 ? chunks[i - 1]!.upTo : 0;
      if (req.rate > 0) {
        const wait = t0 + (before / req.rate) * 1000 - performance.now();
        if (wait > 1) await delay(wait);
      }
      sentAt[i] = performance.now();
      await conn.write(c.bytes);
      stats.sent += c.upTo - before;
    }
    await allAcked;
    conn.destroy();
  };
}

let startNow: () => void = () => {};

self.onmessage = async (e: MessageEvent<BenchWorkerRequest | "start">) => {
  if (e.data === "start") {
    startNow();
    return;
  }
  const req = e.data;
  const stats: Stats = { sent: 0, acked: 0, latencies: [], weights: [], errors: [] };
  const start = new Promise<void>((r) => startNow = r);
  let timer: ReturnType<typeof setInterval> | undefined;
  try {
    const senders = await Promise.all(req.clients.map((c) => prepareClient(req, c, stats)));
    self.postMessage({ type: "ready" } satisfies BenchWorkerMessage);
    await start;
    timer = setInterval(() => {
      self.postMessage(
        { type: "progress", sent: stats.sent, acked: stats.acked } satisfies BenchWorkerMessage,
      );
    }, 200);
    await Promise.all(senders.map((send) => send()));
    self.postMessage({ type: "done", ...stats } satisfies BenchWorkerMessage);
  } catch (err) {
    self.postMessage(
      { type: "error", message: (err as Error).message } satisfies BenchWorkerMessage,
    );
  } finally {
    clearInterval(timer);
  }
};
