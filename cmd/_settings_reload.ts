/**
 * A daemon command's settings across reloads: read from flags, environment
 * and the `--config` file at start and again on SIGHUP (with
 * `settingsReload` of core/lifecycle, which names the changed settings only a
 * restart applies).
 */
import { type ConfigData, loadConfigFile, type SettingSpec } from "../core/config/mod.ts";
import { type ParsedCommand, settingsOf } from "./_settings.ts";

/** Options for {@linkcode settingsReader}. */
export interface SettingsReaderOptions {
  /** The `--config` file, read again on every call. Default: none. */
  config: string | undefined;
  /** Reads and parses the config file. Default `loadConfigFile` (TOML or INI by its name). */
  load?: (path: string) => Promise<ConfigData>;
  /** Hears of unknown keys in the file's sections. Default: not reported. */
  onWarning?: (message: string) => void;
}

/**
 * Reads `specs` for `command` each time it is called: its flags, the
 * environment, the `config` file as it is now (when given) and the defaults.
 *
 * @example
 * ```ts
 * const settings = settingsReader(SPECS, cmd, { config: opts.config, onWarning: (m) => log.warn(m) });
 * const s = await settings();
 * ```
 */
export function settingsReader<S extends Record<string, SettingSpec<unknown>>>(
  specs: S,
  command: ParsedCommand,
  options: SettingsReaderOptions,
): () => Promise<ReturnType<typeof settingsOf<S>>> {
  const { config, load = loadConfigFile, onWarning } = options;
  return async () =>
    settingsOf(specs, command, {
      ...(config !== undefined ? { file: await load(config), filePath: config } : {}),
      ...(onWarning ? { onWarning } : {}),
    });
}
