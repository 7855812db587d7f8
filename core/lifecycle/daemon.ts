import type { Logger } from "../log/mod.ts";
import { type DaemonMetrics, type ReadinessCheck, serveMetrics } from "../metrics/mod.ts";
import { type ReloadFn, reloadOnSignal } from "./reload.ts";
import { type Closable, serveUntilSignal } from "./shutdown.ts";

/** Options for {@linkcode runDaemon}. */
export interface RunDaemonOptions {
  /** Logger for the metrics, reload and drain lines. */
  logger: Logger;
  /** The daemon's metrics; served when `metricsPort` is set. */
  metrics?: DaemonMetrics | undefined;
  /** Serve `/metrics`, `/healthz`, `/readyz` on this port (`0`: any free one). Default: off. */
  metricsPort?: number | undefined;
  /** Address of the metrics endpoint. Default `"127.0.0.1"`. */
  metricsHost?: string | undefined;
  /** Answers `/readyz`. Default: ready while running. */
  ready?: ReadinessCheck | undefined;
  /** Runs on SIGHUP (certificates, allow-list, revocations, reloadable settings). Default: none. */
  reload?: ReloadFn | undefined;
  /** Called with the signal name before the drain starts. */
  onSignal?: (signal: string) => void;
  /** A promise that, when it settles, also ends serving. */
  done?: Promise<unknown>;
}

/**
 * Runs a started daemon until SIGINT/SIGTERM: serves its metrics and health
 * endpoint, reloads on SIGHUP (counting `sockkit_reloads_total{result}`),
 * then drains the server and stops the endpoint. Logs `metrics` with the URL
 * once the endpoint listens.
 *
 * @example
 * ```ts
 * await runDaemon(server, { logger: log, metrics, metricsPort: 9191, reload: () => server.reload() });
 * ```
 */
export async function runDaemon(server: Closable, options: RunDaemonOptions): Promise<void> {
  const log = options.logger;
  const reloads = options.metrics?.counter("reloads_total", "Reloads (SIGHUP), by result", [
    "result",
  ]);
  await using http = options.metrics && options.metricsPort !== undefined
    ? serveMetrics(options.metrics, {
      port: options.metricsPort,
      ...(options.metricsHost !== undefined ? { host: options.metricsHost } : {}),
      ...(options.ready ? { ready: options.ready } : {}),
    })
    : undefined;
  if (http) log.info(`metrics on http://${hostPort(http.host, http.port)}/metrics`);
  using _hup = options.reload
    ? reloadOnSignal(options.reload, {
      logger: log,
      onResult: (ok) => reloads?.inc({ result: ok ? "ok" : "failed" }),
    })
    : undefined;
  await serveUntilSignal(server, {
    ...(options.onSignal ? { onSignal: options.onSignal } : {}),
    ...(options.done ? { done: options.done } : {}),
  });
}

function hostPort(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}
