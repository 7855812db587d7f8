/**
 * Configuration: flags > `SOCKKIT_*` environment > TOML/INI file > defaults,
 * with parsers that validate each value and a {@linkcode ConfigError} (exit
 * code 2) whose one line names the key, its source and what was expected.
 * (Reading them again on a reload is core/lifecycle's `settingsReload`.)
 *
 * @module
 */
export * from "./configparser.ts";
export * from "./errors.ts";
export * from "./file.ts";
export * as parse from "./parsers.ts";
export type { Parser } from "./parsers.ts";
export * from "./resolve.ts";
export * from "./template.ts";
