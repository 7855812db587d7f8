import { parse as parseToml } from "smol-toml";
import { parse as parseIni } from "ini";
import { extname, join } from "node:path";
import { ConfigError } from "./errors.ts";

/** A parsed configuration file: nested sections of values. */
export type ConfigData = Record<string, unknown>;

/** Which syntax a config file uses; `auto` picks by extension, then tries TOML, then INI. */
export type ConfigSyntax = "toml" | "ini" | "auto";

function parseText(text: string, path: string, syntax: ConfigSyntax): ConfigData {
  const ext = extname(path).toLowerCase();
  const kind = syntax !== "auto"
    ? syntax
    : ext === ".toml"
    ? "toml"
    : ext === ".ini"
    ? "ini"
    : "auto";
  if (kind === "toml") {
    try {
      return parseToml(text) as ConfigData;
    } catch (err) {
      const detail = err instanceof Error ? err.message.split("\n")[0] : String(err);
      throw new ConfigError(`Cannot parse config file "${path}" as TOML: ${detail}`, {
        cause: err,
      });
    }
  }
  if (kind === "ini") return parseIni(text) as ConfigData;
  try {
    return parseToml(text) as ConfigData;
  } catch {
    return parseIni(text) as ConfigData;
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
  if (!info.isDirectory) return parseText(await Deno.readTextFile(path), path, syntax);
  const names: string[] = [];
  for await (const entry of Deno.readDir(path)) {
    if (entry.isFile && /\.(conf|toml|ini)$/i.test(entry.name)) names.push(entry.name);
  }
  names.sort();
  const out: ConfigData = {};
  for (const name of names) {
    const file = join(path, name);
    merge(out, parseText(await Deno.readTextFile(file), file, syntax));
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
