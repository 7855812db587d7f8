/**
 * A daemon's reload as one piece: read the settings again, apply what a
 * reload applies, and name the changed settings only a restart applies.
 */
import { type ReloadFn, type ReloadSummary, restartNeeded } from "./reload.ts";

/** Options for {@linkcode settingsReload}. */
export interface SettingsReloadOptions<S> {
  /** Reads the settings again (the config file as it is now). */
  read: () => Promise<S>;
  /** Keys a reload applies; a change to any other is reported as `restart_needed`. */
  reloadable: readonly string[];
  /** Applies the new settings (certificates, allow-list...); its summary is logged. */
  apply: (next: S) => Promise<ReloadSummary>;
}

/**
 * A reload for the daemon started with `current`: reads the settings again,
 * applies them, and adds `restart_needed` (comma-separated keys) to the
 * summary when settings a reload does not apply have changed. A read or an
 * apply that throws rejects the reload (the caller keeps what it had).
 *
 * @example
 * ```ts
 * reload: settingsReload(s, { read: settings, reloadable: ["certs"], apply: async (next) => ({}) }),
 * ```
 */
export function settingsReload<S extends Record<string, unknown>>(
  current: S,
  options: SettingsReloadOptions<S>,
): ReloadFn {
  return async () => {
    const next = await options.read();
    const summary = await options.apply(next);
    const restart = restartNeeded(current, next, options.reloadable);
    return { ...summary, ...(restart.length > 0 ? { restart_needed: restart.join(",") } : {}) };
  };
}
