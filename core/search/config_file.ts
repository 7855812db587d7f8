/**
 * The search server's INI-like config file. It may hold many unrelated
 * entries, comments and odd lines; only the keys the server owns (those
 * its settings name, given by the caller) count, and only at top level, in
 * `[DEFAULT]`, or in a section named for the server (`[search]`, `[server]`),
 * in any case. `[database] host = db.internal` is ignored.
 */
import { type ConfigData, loadConfigFile } from "../config/mod.ts";

/**
 * The certificate and key the replaced server loaded from its working
 * directory (its README makes them with `openssl req -x509 -newkey rsa:4096
 * -keyout key.pem -out cert.pem -days 365 -nodes`): `search serve` uses them
 * when no certificate is configured and the certificates directory has none.
 */
export const REPLACED_SERVER_CERT = { cert: "cert.pem", key: "key.pem" } as const;

/** Other names such servers use for the certificate and key paths, and the key they stand for. */
const ALIASES: Record<string, string> = {
  ssl_certfile: "certfile",
  cert_path: "certfile",
  ssl_keyfile: "keyfile",
  key_path: "keyfile",
};

/** Sections whose keys count, lowest precedence first (top-level keys rank with `[DEFAULT]`). */
const SECTIONS = ["default", "server", "search"] as const;

function isSection(v: unknown): v is ConfigData {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function take(out: ConfigData, entries: ConfigData, owned: ReadonlySet<string>): void {
  for (const [k, v] of Object.entries(entries)) {
    if (isSection(v)) continue;
    const key = k.trim().toLowerCase();
    const name = ALIASES[key] ?? key;
    if (owned.has(name)) out[name] = v;
  }
}

/**
 * Picks the search server's `keys` out of parsed INI data, lowercased:
 * top-level keys and `[DEFAULT]` first, then `[server]`, then `[search]`
 * (a later one overrides). `ssl_certfile`/`cert_path` read as `certfile`,
 * `ssl_keyfile`/`key_path` as `keyfile`. Every other key and section is
 * ignored.
 */
export function flattenSearchConfig(data: ConfigData, keys: readonly string[]): ConfigData {
  const owned = new Set(keys);
  const out: ConfigData = {};
  take(out, data, owned);
  for (const name of SECTIONS) {
    for (const [k, v] of Object.entries(data)) {
      if (isSection(v) && k.trim().toLowerCase() === name) take(out, v, owned);
    }
  }
  return out;
}

/**
 * Reads a search config file (the replaced server's configparser
 * `config.ini` form, whatever its extension: `#`/`;` in a value is kept
 * unless whitespace precedes it, `key: value` works) and returns its entries
 * of `keys` flattened by {@linkcode flattenSearchConfig}. A missing file, an unclosed
 * `[section` or a value without a key is a `ConfigError` naming the file and line.
 *
 * @example
 * ```ts
 * const cfg = await loadSearchConfig("fixtures/search/server.conf", ["linuxpath", "port"]);
 * cfg.linuxpath; // "/root/200k.txt"
 * ```
 */
export async function loadSearchConfig(
  path: string,
  keys: readonly string[],
): Promise<ConfigData> {
  return flattenSearchConfig(
    await loadConfigFile(path, "configparser", { configparser: { inlineComments: true } }),
    keys,
  );
}
