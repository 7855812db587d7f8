import type { Logger } from "../log/mod.ts";
import { hostPort } from "../net/mod.ts";
import { type DaemonMetrics, type ReadinessCheck, serveMetrics } from "../metrics/mod.ts";
import { onSighup, type ReloadFn, serialized } from "./reload.ts";
import { type Closable, serveUntilSignal } from "./shutdown.ts";

/** Options for {@linkcode runDaemon} and {@linkcode startOps}. */
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
  /**
   * Runs on SIGHUP (certificates, allow-list, revocations, reloadable
   * settings), wrapped in {@linkcode serialized} unless `reloadSerialized`. Default: none.
   */
  reload?: ReloadFn | undefined;
  /** `reload` already logs and serializes itself (it is shared with an admin op). Default `false`. */
  reloadSerialized?: boolean;
  /** Called with the signal name before the drain starts. */
  onSignal?: (signal: string) => void;
  /** A promise that, when it settles, also ends serving. */
  done?: Promise<unknown>;
  /** Called once SIGINT/SIGTERM are handled (see `serveUntilSignal`): log "listening" here. */
  started?: () => void;
}

/**
 * Starts a daemon's operations side: the metrics and health endpoint (when
 * `metricsPort` is set; logs `metrics on http://...`) and reload on SIGHUP
 * (counting `sockkit_reloads_total{result}`). Dispose to stop both.
 *
 * @example
 * ```ts
 * await using _ops = startOps({ logger: log, metrics, metricsPort: 9191, reload });
 * ```
 */
export function startOps(
  options: Omit<RunDaemonOptions, "onSignal" | "done" | "started">,
): AsyncDisposable {
  const log = options.logger;
  const http = options.metrics && options.metricsPort !== undefined
    ? serveMetrics(options.metrics, {
      port: options.metricsPort,
      logger: log,
      ...(options.metricsHost !== undefined ? { host: options.metricsHost } : {}),
      ...(options.ready ? { ready: options.ready } : {}),
    })
    : undefined;
  if (http) log.info(`metrics on http://${hostPort(http.host, http.port)}/metrics`);
  const reload = options.reload && !options.reloadSerialized
    ? serialized(options.reload, { logger: log, metrics: options.metrics })
    : options.reload;
  const hup = reload ? onSighup(reload) : undefined;
  return {
    async [Symbol.asyncDispose]() {
      hup?.[Symbol.dispose]();
      await http?.close();
    },
  };
}

/**
 * Runs a started daemon until SIGINT/SIGTERM with {@linkcode startOps}
 * (metrics, health, SIGHUP reload), then drains the server and stops the
 * endpoint.
 *
 * @example
 * ```ts
 * await runDaemon(server, { logger: log, metrics, metricsPort: 9191, reload: () => reloadIngest(server, o) });
 * ```
 */
export async function runDaemon(server: Closable, options: RunDaemonOptions): Promise<void> {
  await using _ops = startOps(options);
  await serveUntilSignal(server, {
    ...(options.onSignal ? { onSignal: options.onSignal } : {}),
    ...(options.done ? { done: options.done } : {}),
    ...(options.started ? { started: options.started } : {}),
  });
}
