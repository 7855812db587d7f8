/**
 * The search server's INI-like config file. It may hold many unrelated
 * entries, keys outside any section, comments and odd lines; the keys the
 * server reads (`linuxpath`, `reread_on_query`, `ssl_enabled`, `port`, ...)
 * are found at top level or in any section, in any case.
 */
import { type ConfigData, loadConfigFile } from "../config/mod.ts";

/** The keys `search serve` takes from its config file. */
export const SEARCH_CONFIG_KEYS = [
  "linuxpath",
  "reread_on_query",
  "ssl_enabled",
  "port",
  "host",
  "workers",
  "certs_dir",
  "client_certs",
  "require_client_cert",
] as const;

function isSection(v: unknown): v is ConfigData {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * Flattens parsed INI data into `{ key: value }` with lowercased keys: a
 * top-level key wins over the same key in a section; among sections the
 * first in file order wins.
 */
export function flattenSearchConfig(data: ConfigData): ConfigData {
  const out: ConfigData = {};
  const sections: ConfigData[] = [];
  for (const [k, v] of Object.entries(data)) {
    if (isSection(v)) sections.push(v);
    else out[k.trim().toLowerCase()] ??= v;
  }
  for (const s of sections) {
    for (const [k, v] of Object.entries(flattenSearchConfig(s))) out[k] ??= v;
  }
  return out;
}

/**
 * Reads a search config file (INI syntax, whatever its extension) and
 * returns its entries flattened by {@linkcode flattenSearchConfig}. A missing
 * file is a `ConfigError` naming it.
 *
 * @example
 * ```ts
 * const cfg = await loadSearchConfig("fixtures/search/server.conf");
 * cfg.linuxpath; // "/root/200k.txt"
 * ```
 */
export async function loadSearchConfig(path: string): Promise<ConfigData> {
  return flattenSearchConfig(await loadConfigFile(path, "ini"));
}
