/**
 * The argument list of a `query serve` under test: the fixture data and
 * handler (`fixtures/query`) unless given, the host, the port and which of
 * UDP and TCP it serves, then any `extra` flags.
 */
import { join } from "node:path";
import { REPO_ROOT } from "./cli.ts";

/** The fixture data spec and handler of `query serve` tests. */
export const QUERY_FIXTURES = join(REPO_ROOT, "fixtures", "query");

/** What {@linkcode queryServeArgs} puts on the command line. */
export interface QueryServeArgs {
  /** `--data`. Default: the fixture spec (`fixtures/query/spec.json`). */
  data?: string;
  /** `--handler`. Default: the fixture handler (`fixtures/query/handler.ts`). */
  handler?: string;
  /** `--host`. Default `127.0.0.1`. */
  host?: string;
  /** `--port`. Default `0` (a free one, read from the listening line). */
  port?: number;
  /** `--udp-only` or `--tcp-only`. Default: both. */
  only?: "udp" | "tcp";
}

/**
 * `query serve --data … --handler … --host … --port … [--udp-only|--tcp-only] …extra`.
 *
 * @example
 * ```ts
 * await using srv = spawnCli(queryServeArgs({ only: "udp" }, "--udp-replies-per-source", "10"));
 * ```
 */
export function queryServeArgs(o: QueryServeArgs = {}, ...extra: string[]): string[] {
  return [
    "query",
    "serve",
    "--data",
    o.data ?? join(QUERY_FIXTURES, "spec.json"),
    "--handler",
    o.handler ?? join(QUERY_FIXTURES, "handler.ts"),
    "--host",
    o.host ?? "127.0.0.1",
    "--port",
    String(o.port ?? 0),
    ...(o.only ? [`--${o.only}-only`] : []),
    ...extra,
  ];
}
