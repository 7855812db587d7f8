import type { Logger } from "../log/mod.ts";
import {
  applyTls,
  type ReloadableCheck,
  type ReloadSummary,
  settingsReload,
} from "../lifecycle/mod.ts";
import {
  type IngestFlags,
  type IngestSettings,
  loadIngestConfig,
  loadIngestTls,
  resolveIngestSettings,
} from "./config.ts";
import type { IngestServer } from "./server.ts";

/** Settings a reload applies; any other changed setting is reported as needing a restart. */
export const INGEST_RELOADABLE = ["certs", "cert", "key", "clientCerts"] as const;

/** What {@linkcode reloadIngest} needs to know about how the daemon was started. */
export interface IngestReloadOptions {
  /** The config file given at start (read again), if any. */
  configPath?: string | undefined;
  /** The command-line flags given at start (they still win over the file). */
  flags: IngestFlags;
  /** The settings in force (updated in place on success). */
  settings: IngestSettings;
  /**
   * Where the server looks the revocation check up (it was started with its
   * `authorize`): a reload puts the check of the certificates directory it
   * loads in force, and live clients that one refuses are closed. Default:
   * none (no revocation check, nothing closed).
   */
  check?: ReloadableCheck | undefined;
  logger: Logger;
}

/**
 * Reloads a running ingest daemon: reads the config file again, loads the
 * certificate, key and client allow-list it names, swaps them and the
 * revocation list of that directory in for new connections, and closes live
 * clients whose certificate is revoked in that list;
 * other changed settings are named as `restart_needed`. Any failure throws
 * before anything changes.
 */
export function reloadIngest(
  server: IngestServer,
  o: IngestReloadOptions,
): Promise<ReloadSummary> {
  return settingsReload(o.settings, {
    read: async () =>
      resolveIngestSettings(o.flags, await loadIngestConfig(o.configPath), o.configPath),
    reloadable: INGEST_RELOADABLE,
    apply: async (next) => {
      const tls = await loadIngestTls(next, o.flags, (w) => o.logger.warn(w));
      const { closed } = applyTls([server.listener], tls.tls, {
        check: o.check,
        authorize: tls.authorize,
        logger: o.logger,
      });
      Object.assign(o.settings, ...INGEST_RELOADABLE.map((k) => ({ [k]: next[k] })));
      return {
        certs: tls.source,
        allowed: tls.tls.clientCa?.length ?? 0,
        closed_revoked: closed,
      };
    },
  })();
}
