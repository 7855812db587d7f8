/**
 * Configuration: flags > `SOCKKIT_*` environment > TOML/INI file > defaults,
 * with parsers that validate each value and a {@linkcode ConfigError} (exit
 * code 2) whose one line names the key, its source and what was expected;
 * {@linkcode settingsReload} reads them again on a reload and names the
 * changes only a restart applies.
 *
 * @module
 */
export * from "./errors.ts";
export * from "./file.ts";
export * as parse from "./parsers.ts";
export type { Parser } from "./parsers.ts";
export * from "./resolve.ts";
export * from "./settings_reload.ts";
export * from "./template.ts";
