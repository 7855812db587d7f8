/**
 * Operations metrics: one prom-client registry per daemon
 * ({@linkcode DaemonMetrics}), the network metrics every daemon shares
 * ({@linkcode NetMetrics}), and the HTTP endpoint that serves `/metrics`,
 * `/healthz` and `/readyz` ({@linkcode serveMetrics}, 127.0.0.1 by default).
 *
 * @module
 */
export * from "./registry.ts";
export * from "./refusal_reason.ts";
export * from "./net_metrics.ts";
export * from "./readiness.ts";
export * from "./http_server.ts";
export * from "./settings.ts";
