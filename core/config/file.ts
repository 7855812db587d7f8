import { parse as parseToml } from "smol-toml";
import { parse as parseIni } from "ini";
import { extname, join } from "node:path";
import { ConfigError } from "./errors.ts";
import { ConfigParserError, type ConfigParserOptions, parseConfigParser } from "./configparser.ts";

/** A parsed configuration file: nested sections of values. */
export type ConfigData = Record<string, unknown>;

/**
 * Which syntax a config file uses: `auto` takes `.toml` as TOML and `.ini` as
 * INI, and otherwise decides from the content: TOML when it parses as TOML,
 * INI when every line is INI, a parse error naming both otherwise.
 * `configparser` is the INI form Python's configparser reads (see
 * {@linkcode parseConfigParser}), for replaced Python tools' `config.ini`.
 */
export type ConfigSyntax = "toml" | "ini" | "configparser" | "auto";

/** Options of {@linkcode loadConfigFile}. */
export interface LoadConfigOptions {
  /** How `configparser` syntax reads inline comments. Default configparser's own. */
  configparser?: ConfigParserOptions;
}

/** Where a TOML parse failed, as one line: `line 3, column 8: illegal character in key`. */
function tomlFailure(err: unknown): string {
  const e = err as { message?: string; line?: number; column?: number };
  const detail = (e.message ?? String(err)).split("\n")[0]!.replace(/^Invalid TOML document: /, "");
  return e.line === undefined ? detail : `line ${e.line}, column ${e.column}: ${detail}`;
}

/**
 * The first line that no INI reader would take as meant, or `undefined`:
 * INI lines are `[section]`, `key = value`, a bare `key`, comments and blanks.
 */
export function iniFailure(text: string): string | undefined {
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    const where = `line ${i + 1}`;
    if (line.startsWith("[")) {
      if (!/^\[[^\[\]]+\]\s*([#;].*)?$/.test(line)) return `${where}: unclosed section header`;
      continue;
    }
    const eq = line.indexOf("=");
    const key = (eq < 0 ? line : line.slice(0, eq)).trim();
    if (key === "") return `${where}: a value without a key`;
    if (eq < 0) continue;
    const value = line.slice(eq + 1).trim();
    const quote = value[0];
    if ((quote === '"' || quote === "'") && (value.length < 2 || !value.endsWith(quote))) {
      return `${where}: unclosed quote in the value of "${key}"`;
    }
  }
  return undefined;
}

function parseText(
  text: string,
  path: string,
  syntax: ConfigSyntax,
  options: LoadConfigOptions,
): ConfigData {
  if (syntax === "configparser") {
    try {
      return parseConfigParser(text, options.configparser);
    } catch (err) {
      if (!(err instanceof ConfigParserError)) throw err;
      throw new ConfigError(
        `Cannot parse config file "${path}": ${err.message} (fix that line)`,
        { cause: err },
      );
    }
  }
  const ext = extname(path).toLowerCase();
  const kind = syntax !== "auto"
    ? syntax
    : ext === ".toml"
    ? "toml"
    : ext === ".ini"
    ? "ini"
    : "auto";
  if (kind === "ini") return parseIni(text) as ConfigData;
  try {
    return parseToml(text) as ConfigData;
  } catch (err) {
    if (kind === "toml") {
      throw new ConfigError(
        `Cannot parse config file "${path}" as TOML: ${tomlFailure(err)} (fix that line)`,
        { cause: err },
      );
    }
    const ini = iniFailure(text);
    if (ini === undefined) return parseIni(text) as ConfigData;
    throw new ConfigError(
      `Cannot parse config file "${path}": as TOML, ${
        tomlFailure(err)
      }; as INI, ${ini} (fix that line)`,
      { cause: err },
    );
  }
}

function merge(into: ConfigData, from: ConfigData): ConfigData {
  for (const [k, v] of Object.entries(from)) {
    const cur = into[k];
    if (isSection(cur) && isSection(v)) merge(cur, v);
    else into[k] = v;
  }
  return into;
}

function isSection(v: unknown): v is ConfigData {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * Reads a TOML or INI config file, or every `*.conf`, `*.toml` and `*.ini`
 * file of a directory merged in name order (later files win). A missing file
 * or a parse error is a {@linkcode ConfigError} naming the path.
 *
 * @example
 * ```ts
 * const data = await loadConfigFile("conf/daemon.conf");
 * const port = lookup(data, "daemon.port");
 * ```
 */
export async function loadConfigFile(
  path: string,
  syntax: ConfigSyntax = "auto",
  options: LoadConfigOptions = {},
): Promise<ConfigData> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(path);
  } catch (err) {
    throw new ConfigError(
      `Cannot read config file "${path}": ${
        err instanceof Deno.errors.NotFound ? "file not found" : String(err)
      }`,
      { cause: err },
    );
  }
  if (!info.isDirectory) return parseText(await Deno.readTextFile(path), path, syntax, options);
  const names: string[] = [];
  for await (const entry of Deno.readDir(path)) {
    if (entry.isFile && /\.(conf|toml|ini)$/i.test(entry.name)) names.push(entry.name);
  }
  names.sort();
  const out: ConfigData = {};
  for (const name of names) {
    const file = join(path, name);
    merge(out, parseText(await Deno.readTextFile(file), file, syntax, options));
  }
  return out;
}

/** Looks up a dotted key (`"redis.port"`) in parsed config data; `undefined` when absent. */
export function lookup(data: ConfigData | undefined, dotted: string): unknown {
  let cur: unknown = data;
  for (const part of dotted.split(".")) {
    if (!isSection(cur)) return undefined;
    cur = cur[part];
  }
  return cur;
}
