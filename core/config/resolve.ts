import { ConfigError } from "./errors.ts";
import { type ConfigData, lookup } from "./file.ts";
import type { Parser } from "./parsers.ts";

/** Where one setting may come from, in precedence order flag > env > file > default. */
export interface SettingSpec<T> {
  /** Parses and validates the raw value. */
  parse: Parser<T>;
  /** The command-line flag name, used in error messages (`--port`). */
  flag?: string;
  /** Environment variable name (`SOCKKIT_INGEST_PORT`). Default: none. */
  env?: string;
  /** Dotted key(s) in the config file (`"daemon.port"`); the first present wins. Default: none. */
  file?: string | readonly string[];
  /** The value when no source sets it. Default: the setting is optional (`undefined`). */
  default?: T;
}

/** The inputs to {@linkcode resolveSettings}. */
export interface SettingSources {
  /** Parsed flags; `undefined` means "not given". */
  flags: Record<string, unknown>;
  /** Environment to read. Default `Deno.env.toObject()`. */
  env?: Record<string, string | undefined>;
  /** Parsed config file, if any. */
  file?: ConfigData;
  /** The config file's path, for error messages. */
  filePath?: string;
}

type Resolved<S> = {
  [K in keyof S]: S[K] extends SettingSpec<infer T>
    ? (S[K] extends { default: T } ? T : T | undefined)
    : never;
};

/**
 * Resolves each setting from flags, then `SOCKKIT_*` environment variables,
 * then the config file, then its default. A bad value throws a one-line
 * {@linkcode ConfigError} naming the key, where it came from and what was
 * expected.
 *
 * @example
 * ```ts
 * const s = resolveSettings({
 *   port: { parse: port, flag: "--port", env: "SOCKKIT_INGEST_PORT", file: "daemon.port", default: 1191 },
 * }, { flags: { port: opts.port }, file, filePath });
 * ```
 */
export function resolveSettings<S extends Record<string, SettingSpec<unknown>>>(
  specs: S,
  sources: SettingSources,
): Resolved<S> {
  const env = sources.env ?? Deno.env.toObject();
  const out: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(specs)) {
    const candidates: Array<[unknown, string]> = [];
    const flagValue = sources.flags[key];
    if (flagValue !== undefined) candidates.push([flagValue, `flag ${spec.flag ?? "--" + key}`]);
    if (spec.env && env[spec.env] !== undefined && env[spec.env] !== "") {
      candidates.push([env[spec.env], `environment variable ${spec.env}`]);
    }
    const fileKeys = spec.file === undefined
      ? []
      : typeof spec.file === "string"
      ? [spec.file]
      : spec.file;
    for (const fk of fileKeys) {
      const v = lookup(sources.file, fk);
      if (v !== undefined) {
        candidates.push([v, `key "${fk}" in config file "${sources.filePath ?? "?"}"`]);
        break;
      }
    }
    const first = candidates[0];
    if (first === undefined) {
      out[key] = spec.default;
      continue;
    }
    try {
      out[key] = spec.parse(first[0]);
    } catch (err) {
      const detail = err instanceof Error ? err.message : String(err);
      throw new ConfigError(`Invalid value for ${first[1]}: ${detail}`, { cause: err });
    }
  }
  return out as Resolved<S>;
}
