import { parse } from "../config/mod.ts";

/**
 * The `--metrics-port` and `--metrics-host` settings of a daemon, for
 * `resolveSettings`: environment `SOCKKIT_<SERVICE>_METRICS_PORT`/`_HOST`,
 * config keys `<section>.metrics_port`/`metrics_host` (or top-level keys when
 * `section` is empty, as in search's INI file). The port has no default (the
 * endpoint is off); the host defaults to `127.0.0.1`.
 *
 * @example
 * ```ts
 * const SPECS = { port: {...}, ...metricsSettings("servercli", "servercli") };
 * ```
 */
export function metricsSettings(service: string, section: string) {
  const key = (k: string) => section === "" ? k : `${section}.${k}`;
  const env = `SOCKKIT_${service.toUpperCase()}_METRICS`;
  return {
    metricsPort: {
      parse: parse.port,
      flag: "--metrics-port",
      arg: "<port>",
      help: "serve Prometheus /metrics, /healthz and /readyz on this port",
      defaultHelp: "off",
      env: `${env}_PORT`,
      file: key("metrics_port"),
    },
    metricsHost: {
      parse: parse.string,
      flag: "--metrics-host",
      arg: "<addr>",
      help: "address of the metrics endpoint",
      env: `${env}_HOST`,
      file: key("metrics_host"),
      default: "127.0.0.1",
    },
  } as const;
}
