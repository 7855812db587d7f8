import type { Logger } from "../log/mod.ts";
import type { DaemonMetrics } from "../metrics/mod.ts";
import type { Server, TlsMaterial } from "../net/mod.ts";
import { describePeer } from "../net/mod.ts";
import type { PeerCheck, ReloadableCheck } from "./reloadable_check.ts";
import { errorText } from "../log/mod.ts";

/** What a successful reload did, for the log line and the `reload` admin reply. */
export type ReloadSummary = Record<string, unknown>;

/** Re-reads a daemon's material; throws (changing nothing) when something is unusable. */
export type ReloadFn = () => Promise<ReloadSummary>;

/** Options for {@linkcode serialized}. */
export interface ReloadOptions {
  /** Where `reloaded` / `reload failed` lines go. */
  logger: Logger;
  /** Counts `sockkit_reloads_total{result="ok"|"failed"}` here. Default: not counted. */
  metrics?: DaemonMetrics | undefined;
}

/**
 * Runs `fn` on every SIGHUP (errors are the caller's to log: wrap it with
 * {@linkcode serialized}). Dispose to remove the handler.
 *
 * @example
 * ```ts
 * using _hup = onSighup(serialized(() => server.reload(), { logger: log }));
 * ```
 */
export function onSighup(fn: () => Promise<unknown>): Disposable {
  const handler = () => void fn().catch(() => {});
  Deno.addSignalListener("SIGHUP", handler);
  return { [Symbol.dispose]: () => Deno.removeSignalListener("SIGHUP", handler) };
}

/**
 * Wraps `reload` so that calls never overlap and each logs its outcome:
 * `reloaded` at info with the summary, or `reload failed: keeping the old
 * certificates and settings` at error with the reason. A failed reload must
 * change nothing (every `ReloadFn` loads everything before applying it). The
 * returned function resolves with the summary, or rejects with the error.
 */
export function serialized(reload: ReloadFn, options: ReloadOptions): () => Promise<ReloadSummary> {
  const counter = options.metrics?.counter("reloads_total", "Reloads, by result", ["result"]);
  let chain: Promise<unknown> = Promise.resolve();
  return () => {
    const next = chain.then(async () => {
      try {
        const summary = await reload();
        options.logger.info("reloaded", summary);
        counter?.inc({ result: "ok" });
        return summary;
      } catch (err) {
        options.logger.error("reload failed: keeping the old certificates and settings", {
          error: errorText(err),
        });
        counter?.inc({ result: "failed" });
        throw err;
      }
    });
    chain = next.catch(() => {});
    return next;
  };
}

/** Options for {@linkcode applyTls}. */
export interface ApplyTlsOptions {
  /**
   * The reloaded settings' peer check (the revocation list of the new
   * certificates directory): live connections it refuses are closed, and it
   * replaces the one in `check`. Default: none (nothing is closed, and
   * `check` then admits every peer).
   */
  authorize?: PeerCheck | undefined;
  /** Where new connections look the check up; replaced by `authorize`. Default: none. */
  check?: ReloadableCheck | undefined;
  logger: Logger;
}

/**
 * Applies reloaded TLS material to listeners (new connections use it at once),
 * puts the reloaded peer check in force for new connections, and closes live
 * connections it refuses (a client whose certificate is revoked in the list
 * now in force). A listener that cannot use the material throws and keeps
 * its old one, and the old check stays. Returns how many connections were
 * closed.
 */
export function applyTls(
  listeners: readonly Server[],
  material: TlsMaterial,
  options: ApplyTlsOptions,
): { closed: number } {
  for (const l of listeners) l.setTls(material);
  options.check?.replace(options.authorize);
  return { closed: closeRefused(listeners, options) };
}

/** Closes live connections that `authorize` refuses now; returns how many. */
export function closeRefused(
  listeners: readonly Server[],
  options: { authorize?: PeerCheck | undefined; logger: Logger },
): number {
  const check = options.authorize;
  if (!check) return 0;
  let closed = 0;
  for (const l of listeners) {
    for (const conn of l.connections) {
      if (conn.peer.fingerprint === undefined) continue;
      const reason = check(conn.peer);
      if (reason === undefined) continue;
      options.logger.warn("closing client: refused after reload", {
        peer: describePeer(conn.peer),
        reason,
      });
      conn.destroy();
      closed++;
    }
  }
  return closed;
}

/**
 * Names the settings that differ between two resolved settings objects but
 * are not in `reloadable`: they need a restart, and a reload says so.
 */
export function restartNeeded(
  before: Record<string, unknown>,
  after: Record<string, unknown>,
  reloadable: readonly string[],
): string[] {
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
  return [...keys].filter((k) =>
    !reloadable.includes(k) && JSON.stringify(before[k]) !== JSON.stringify(after[k])
  ).sort();
}
