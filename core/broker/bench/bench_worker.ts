/**
 * The client side of `broker bench`, run in a Web Worker (its own thread,
 * like a separate connector process): a client connector that sends on
 * command and reports what it measured.
 */
import { loadClientTls } from "../../pki/mod.ts";
import { Connector } from "../connector.ts";
import { delay } from "../../async/mod.ts";
import { pct } from "../../stats/mod.ts";
import { keepInFlight } from "./in_flight.ts";

/** Commands the bench sends to the worker. */
export type BenchCommand =
  | {
    op: "start";
    port: number;
    ca: string;
    cert: string;
    key: string;
    dir: string;
    fsync: boolean;
    name?: string;
  }
  | { op: "oneway"; n: number; size: number }
  | { op: "acked"; n: number; size: number; window: number }
  | { op: "serial"; n: number; size: number }
  | { op: "rtt"; n: number; size: number }
  | { op: "close" };

declare const self: Worker & { close(): void };
let client: Connector | undefined;

async function handle(m: BenchCommand): Promise<unknown> {
  switch (m.op) {
    case "start": {
      const tls = await loadClientTls({ ca: m.ca, cert: m.cert, key: m.key });
      client = await Connector.start({
        name: m.name ?? "bench",
        dir: m.dir,
        fsync: m.fsync,
        client: { host: "127.0.0.1", port: m.port, tls: { ...tls, servername: "localhost" } },
      });
      while (!client.admin.peers()[0]?.connected) await delay(20);
      return { op: "ready" };
    }
    case "oneway": {
      const payload = "x".repeat(m.size);
      for (let i = 0; i < m.n; i++) {
        const p = client!.send("server", "bench", payload);
        if ((i & 1023) === 0) await p;
      }
      return { op: "sent" };
    }
    case "acked": {
      const payload = "x".repeat(m.size);
      const t = performance.now();
      const c = client!;
      await keepInFlight(
        m.n,
        m.window,
        () => c.send("server", "bench-ack", payload, { ack: true }),
      );
      return { op: "acked", rate: m.n / ((performance.now() - t) / 1000) };
    }
    case "serial": {
      const payload = "x".repeat(m.size);
      const t = performance.now();
      for (let i = 0; i < m.n; i++) {
        await client!.send("server", "bench-ack", payload, { ack: true });
      }
      return { op: "serial", rate: m.n / ((performance.now() - t) / 1000) };
    }
    case "rtt": {
      const payload = "x".repeat(m.size);
      const rtts: number[] = [];
      // warm-up, untimed (as the NATS side's): the first requests compile the request path
      for (let i = 0; i < Math.min(200, m.n); i++) await client!.request("server", "echo", payload);
      for (let i = 0; i < m.n; i++) {
        const t = performance.now();
        await client!.request("server", "echo", payload);
        rtts.push(performance.now() - t);
      }
      rtts.sort((a, b) => a - b);
      return { op: "rtt", p50: pct(rtts, 0.5), p99: pct(rtts, 0.99) };
    }
    case "close":
      await client?.close();
      return { op: "closed" };
  }
}

self.onmessage = (e: MessageEvent<BenchCommand>) => {
  handle(e.data).then(
    (r) => self.postMessage(r),
    (err) => self.postMessage({ op: "error", message: (err as Error).message }),
  );
};
