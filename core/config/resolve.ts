import { ConfigError } from "./errors.ts";
import { type ConfigData, lookup } from "./file.ts";
import type { Parser } from "./parsers.ts";
import { errorText } from "../log/mod.ts";

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
  /** What the setting does, for `--help` (cmd/ adds its default, env and config key). */
  help?: string;
  /** The flag's value placeholder (`<port>`); a setting without one is a switch (`--tls`). */
  arg?: string;
  /** Help of the switch's `--no-` form, for a switch that a config file or env can turn on. */
  negate?: string;
  /** How `--help` shows the default when `String(default)` would not say it well. */
  defaultHelp?: string;
  /**
   * The flag may be given several times (`--allow a --allow b`): its values
   * are collected into an array, which `parse` takes. Default: the last one wins.
   */
  repeatable?: true;
}

/** The config file keys of `spec`, in the order they are tried (none when it has no `file`). */
export function fileKeys(spec: SettingSpec<unknown>): readonly string[] {
  return spec.file === undefined ? [] : typeof spec.file === "string" ? [spec.file] : spec.file;
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
  /**
   * Called with a warning for each key of a config file section these specs
   * own (`[daemon]`, `[servercli]`, ...) that no spec reads. Default: none.
   */
  onWarning?: (message: string) => void;
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
  if (sources.onWarning) {
    for (const w of unknownKeys(specs, sources.file, sources.filePath)) sources.onWarning(w);
  }
  const env = sources.env ?? Deno.env.toObject();
  const out: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(specs)) {
    const candidates: Array<[unknown, string]> = [];
    const flagValue = sources.flags[key];
    if (flagValue !== undefined) candidates.push([flagValue, `flag ${spec.flag ?? "--" + key}`]);
    if (spec.env && env[spec.env] !== undefined && env[spec.env] !== "") {
      candidates.push([env[spec.env], `environment variable ${spec.env}`]);
    }
    for (const fk of fileKeys(spec)) {
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
      const detail = errorText(err);
      throw new ConfigError(`Invalid value for ${first[1]}: ${detail}`, { cause: err });
    }
  }
  return out as Resolved<S>;
}

/**
 * Warnings for keys in the config file sections that `specs` read from which
 * no spec reads (a typo such as `prot` or `max_client`), each naming the
 * nearest known key. Sections no spec names are left alone.
 */
export function unknownKeys(
  specs: Record<string, SettingSpec<unknown>>,
  file: ConfigData | undefined,
  filePath = "?",
): string[] {
  if (file === undefined) return [];
  const known = new Map<string, Set<string>>();
  for (const spec of Object.values(specs)) {
    for (const fk of fileKeys(spec)) {
      const dot = fk.indexOf(".");
      if (dot < 0) continue;
      const section = fk.slice(0, dot);
      if (!known.has(section)) known.set(section, new Set());
      known.get(section)!.add(fk.slice(dot + 1));
    }
  }
  const out: string[] = [];
  for (const [section, keys] of known) {
    const data = lookup(file, section);
    if (typeof data !== "object" || data === null || Array.isArray(data)) continue;
    for (const key of Object.keys(data)) {
      if (keys.has(key)) continue;
      const near = nearest(key, [...keys]);
      out.push(
        `Unknown key "${key}" in section [${section}] of config file "${filePath}" (ignored)` +
          (near === undefined
            ? `: known keys are ${[...keys].join(", ")}`
            : `: did you mean "${near}"?`),
      );
    }
  }
  return out;
}

function nearest(word: string, candidates: string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(word.length / 3)) + 1;
  for (const c of candidates) {
    const d = editDistance(word, c);
    if (d < bestDistance) [best, bestDistance] = [c, d];
  }
  return best;
}

/** Levenshtein distance. */
function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(
        prev[j]! + 1,
        cur[j - 1]! + 1,
        prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    prev = cur;
  }
  return prev[b.length]!;
}
