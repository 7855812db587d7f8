/// <reference lib="deno.worker" />
/**
 * A load worker for `search load`: opens its share of the connections,
 * sends queries back to back for the duration, and reports every latency.
 *
 * @module
 */
import type { LoadReply, LoadRequest } from "./_load_protocol.ts";
import { SearchClient } from "./client.ts";
import { errorText } from "../log/mod.ts";

self.onmessage = async (event: MessageEvent<LoadRequest>) => {
  const req = event.data;
  const latencies: number[] = [];
  let errors = 0;
  let timeouts = 0;
  let firstError: string | undefined;
  const fail = (err: unknown) => {
    errors++;
    firstError ??= errorText(err);
  };
  const clients = await Promise.all(
    Array.from({ length: req.connections }, async () => {
      try {
        return await SearchClient.connect({
          host: req.host,
          port: req.port,
          timeoutMs: req.timeoutMs,
          ...(req.tls ? { tls: req.tls } : {}),
        });
      } catch (err) {
        fail(err);
        return undefined;
      }
    }),
  );
  const live = clients.filter((c): c is SearchClient => c !== undefined);
  // The clock starts once the connections (and TLS handshakes) are done.
  const started = performance.now();
  const deadline = started + req.durationMs;
  const progress = new Map<SearchClient, number>(live.map((c) => [c, performance.now()]));
  const timedOut = new Set<SearchClient>();
  const watchdog = setInterval(() => {
    const now = performance.now();
    for (const [c, last] of progress) {
      if (c.inFlight > 0 && now - last > req.timeoutMs && !timedOut.has(c)) {
        timedOut.add(c);
        timeouts++;
        c.close().catch(() => {});
      }
    }
  }, Math.min(250, req.timeoutMs / 2));
  const n = req.queries.length;
  const loops: Promise<void>[] = [];
  live.forEach((client, ci) => {
    for (let p = 0; p < req.pipeline; p++) {
      loops.push((async () => {
        let i = ci * 7 + p;
        while (performance.now() < deadline && !timedOut.has(client)) {
          const t0 = performance.now();
          try {
            await client.query(req.queries[i++ % n]!);
          } catch (err) {
            if (!timedOut.has(client)) fail(err);
            return;
          }
          const t1 = performance.now();
          latencies.push(t1 - t0);
          progress.set(client, t1);
        }
      })());
    }
  });
  await Promise.all(loops);
  const elapsedMs = performance.now() - started;
  clearInterval(watchdog);
  await Promise.all(live.map((c) => c.close().catch(() => {})));
  const reply: LoadReply = {
    latencies: Float64Array.from(latencies),
    errors,
    timeouts,
    elapsedMs,
    ...(firstError !== undefined ? { firstError } : {}),
  };
  self.postMessage(reply, [reply.latencies.buffer as ArrayBuffer]);
};
