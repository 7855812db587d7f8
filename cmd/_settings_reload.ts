/**
 * A daemon command's settings across reloads: read from flags, environment
 * and the `--config` file at start and again on SIGHUP, with one piece of
 * code telling which changed settings only a restart applies.
 */
import { loadConfigFile, type SettingSpec } from "../core/config/mod.ts";
import { type ReloadFn, type ReloadSummary, restartNeeded } from "../core/lifecycle/mod.ts";
import { type ParsedCommand, settingsOf } from "./_settings.ts";

/**
 * Reads `specs` for `command` each time it is called: its flags, the
 * environment, the `config` file as it is now (when given) and the defaults;
 * `onWarning` hears of unknown keys in the file.
 */
export function settingsReader<S extends Record<string, SettingSpec<unknown>>>(
  specs: S,
  command: ParsedCommand,
  options: { config: string | undefined; onWarning: (message: string) => void },
): () => Promise<ReturnType<typeof settingsOf<S>>> {
  const { config, onWarning } = options;
  return async () =>
    settingsOf(specs, command, {
      ...(config !== undefined ? { file: await loadConfigFile(config), filePath: config } : {}),
      onWarning,
    });
}

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
 * summary when settings a reload does not apply have changed.
 *
 * @example
 * ```ts
 * reload: settingsReload(s, { read: settings, reloadable: RELOADABLE, apply: async (next) => ({}) }),
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
