import { join } from "node:path";
import { type Daemon, startDaemon, type StartDaemonOptions } from "./daemon.ts";
import type { TestPki } from "./pki.ts";

/**
 * Starts `sockkit ingest` on 127.0.0.1 (or `options.host`; a free port) with `pki`'s
 * certificates, Redis at `redisUrl` and its spool in PKI_DIR/spool; `extra`
 * flags and `options` pass through. Resolves once it listens (see {@linkcode startDaemon}).
 */
export function startIngest(
  pki: TestPki,
  redisUrl: string,
  extra: string[] = [],
  options: StartDaemonOptions = {},
): Promise<Daemon> {
  return startDaemon([
    "ingest",
    "--certs",
    pki.dir,
    "--redis",
    redisUrl,
    "--spool-dir",
    join(pki.dir, "spool"),
    ...extra,
  ], options);
}
