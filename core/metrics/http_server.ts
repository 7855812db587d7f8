import type { ReadinessCheck } from "./readiness.ts";
import type { DaemonMetrics } from "./registry.ts";

/** Options for {@linkcode serveMetrics}. */
export interface ServeMetricsOptions {
  /** Port; `0` picks a free one. */
  port: number;
  /** Address to bind. Default `"127.0.0.1"` (metrics are not for the world). */
  host?: string;
  /** Answers `/readyz`. Default: always ready. */
  ready?: ReadinessCheck;
}

/** A running metrics and health endpoint. */
export interface MetricsServer extends AsyncDisposable {
  /** The bound port. */
  readonly port: number;
  /** The bound address. */
  readonly host: string;
  /** Stops serving. Idempotent. */
  close(): Promise<void>;
}

const TEXT = { "content-type": "text/plain; charset=utf-8" };

/**
 * Serves a daemon's metrics and health over HTTP (`Deno.serve`):
 * `GET /metrics` is Prometheus text, `/healthz` answers 200 while the process
 * is up, `/readyz` 200 when `ready()` says it can serve and 503 (with the
 * reason) when not. Anything else is 404 naming the three paths.
 *
 * @example
 * ```ts
 * await using http = serveMetrics(metrics, { port: 9191, ready: () => ({ ready: true, detail: "ok" }) });
 * ```
 */
export function serveMetrics(metrics: DaemonMetrics, options: ServeMetricsOptions): MetricsServer {
  const host = options.host ?? "127.0.0.1";
  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    server = Deno.serve(
      { port: options.port, hostname: host, onListen: () => {} },
      (req) => answer(req, metrics, options.ready),
    );
  } catch (err) {
    const why = err instanceof Deno.errors.AddrInUse
      ? "address already in use (pick another --metrics-port)"
      : err instanceof Error
      ? err.message
      : String(err);
    throw new Error(`Cannot serve metrics on ${host}:${options.port}: ${why}`, { cause: err });
  }
  let closing: Promise<void> | undefined;
  const close = () => closing ??= server.shutdown();
  return { port: server.addr.port, host, close, [Symbol.asyncDispose]: close };
}

async function answer(
  req: Request,
  metrics: DaemonMetrics,
  ready: ReadinessCheck | undefined,
): Promise<Response> {
  if (req.method !== "GET" && req.method !== "HEAD") {
    return new Response("Method not allowed: use GET\n", { status: 405, headers: TEXT });
  }
  switch (new URL(req.url).pathname) {
    case "/metrics":
      return new Response(await metrics.render(), {
        headers: { "content-type": metrics.contentType },
      });
    case "/healthz":
      return new Response("ok\n", { headers: TEXT });
    case "/readyz": {
      let r;
      try {
        r = ready ? await ready() : { ready: true, detail: "serving" };
      } catch (err) {
        r = { ready: false, detail: `readiness check failed: ${(err as Error).message}` };
      }
      return new Response(`${r.ready ? "ready" : "not ready"}: ${r.detail}\n`, {
        status: r.ready ? 200 : 503,
        headers: TEXT,
      });
    }
    default:
      return new Response("Not found: try /metrics, /healthz or /readyz\n", {
        status: 404,
        headers: TEXT,
      });
  }
}
