/**
 * The client side of `broker bench`'s pub/sub case, run in a Web Worker (its
 * own thread, like separate connector processes): one publishing client
 * connector and the subscribing ones, all linked to the server connector of
 * the main thread. It runs a warm-up and one measured run, then posts what it
 * measured (or the error) once.
 */
import { loadClientTls } from "../../pki/mod.ts";
import { delay } from "../../async/mod.ts";
import { Connector } from "../connector.ts";

/** A client connector to start: its name and PEM material. */
export interface PubSubClient {
  name: string;
  cert: string;
  key: string;
}

/** What the worker is told to do. */
export interface PubSubWork {
  port: number;
  ca: string;
  /** The publisher first, then the subscribers. */
  clients: PubSubClient[];
  dir: string;
  /** Messages published in the measured run (a quarter of them before, as a warm-up). */
  messages: number;
  size: number;
  /** Give up on a run after this long, ms. */
  timeoutMs: number;
  fsync: boolean;
}

/** What the worker posts back. */
export type PubSubResult =
  | { op: "done"; delivered: number; ms: number }
  | { op: "error"; message: string };

/** The message type published and subscribed to. */
export const PUBSUB_TYPE = "bench-pub";

declare const self: Worker & { close(): void };

async function until(cond: () => boolean, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) return false;
    await delay(5);
  }
  return true;
}

async function work(w: PubSubWork): Promise<PubSubResult> {
  const tls = async (c: PubSubClient) => ({
    ...await loadClientTls({ ca: w.ca, cert: c.cert, key: c.key }),
    servername: "localhost",
  });
  const all: Connector[] = [];
  try {
    for (const c of w.clients) {
      all.push(
        await Connector.start({
          name: c.name,
          dir: `${w.dir}/${c.name}`,
          localSocket: false,
          fsync: w.fsync,
          client: { host: "127.0.0.1", port: w.port, tls: await tls(c) },
        }),
      );
    }
    if (!await until(() => all.every((c) => c.admin.peers()[0]?.connected), w.timeoutMs)) {
      throw new Error(`not every client connector linked to the server within ${w.timeoutMs} ms`);
    }
    const [pub, ...subs] = all as [Connector, ...Connector[]];
    let delivered = 0;
    for (const s of subs) {
      s.listen(PUBSUB_TYPE, () => void delivered++);
      await s.subscribe([PUBSUB_TYPE]);
    }
    const payload = "x".repeat(w.size);
    const run = async (n: number) => {
      delivered = 0;
      const t0 = performance.now();
      for (let i = 0; i < n; i++) {
        const p = pub.publish(PUBSUB_TYPE, payload);
        if ((i & 1023) === 0) await p;
      }
      await until(() => delivered >= n * subs.length, w.timeoutMs);
      return { delivered, ms: performance.now() - t0 };
    };
    await run(Math.max(1, Math.floor(w.messages / 4)));
    return { op: "done", ...await run(w.messages) };
  } finally {
    await Promise.all(all.map((c) => c.close()));
  }
}

self.onmessage = (e: MessageEvent<PubSubWork>) => {
  work(e.data).then(
    (r) => self.postMessage(r),
    (err) => self.postMessage({ op: "error", message: (err as Error).message }),
  );
};
