/**
 * Reading an aioconnectors JSON configuration file (the `config_file_path`
 * of its `ConnectorManager`) as the `[broker]` section of a sockkit config,
 * so that an existing deployment starts with its own file. Keys with a
 * sockkit equivalent are translated; keys with none are listed, with the
 * reason, in one warning.
 *
 * @module
 */
import { resolve } from "node:path";
import { type ConfigData, ConfigError } from "../config/mod.ts";
import { hostPort } from "../net/mod.ts";

/** Which connector the command starts. */
export type AioRole = "server" | "client";

/** The translated config and what was ignored. */
export interface AioConfig {
  /** `{ broker: {...} }`, ready for `resolveSettings`. */
  data: ConfigData;
  /** One line naming every key with no sockkit equivalent (absent when there is none). */
  warning?: string;
}

/** Keys that only tune aioconnectors' own internals: accepted silently. */
const INTERNAL = new Set([
  "silent",
  "debug_msg_counts",
  "uds_path_receive_preserve_socket",
  "uds_path_send_preserve_socket",
  "default_logger_log_level",
  "default_logger_dirpath",
  "default_logger_rotate",
  "use_default_logger",
]);

function isAny(v: unknown): boolean {
  return v === undefined || v === null ||
    (Array.isArray(v) && v.length === 1 && v[0] === "any");
}

function sockaddr(v: unknown, path: string): { host: string; port: number } {
  if (
    !Array.isArray(v) || v.length !== 2 || typeof v[0] !== "string" ||
    typeof v[1] !== "number" || !Number.isInteger(v[1])
  ) {
    throw new ConfigError(
      `Invalid value for key "server_sockaddr" in config file "${path}": expected ["HOST", PORT], got ${
        JSON.stringify(v)
      }`,
    );
  }
  return { host: v[0], port: v[1] };
}

/**
 * `send_message_types_priorities` ({TYPE: N}, a smaller N leaving first, as
 * in aioconnectors) as sockkit priorities (a higher N leaving first): each N
 * negated, so the order is the same and unlisted types (0 in both) keep
 * their place.
 */
function aioPriorities(v: unknown, path: string): string[] {
  if (
    typeof v !== "object" || v === null || Array.isArray(v) ||
    Object.values(v).some((n) => typeof n !== "number" || !Number.isInteger(n))
  ) {
    throw new ConfigError(
      `Invalid value for key "send_message_types_priorities" in config file "${path}": expected an object of TYPE: INTEGER, got ${
        JSON.stringify(v)
      }`,
    );
  }
  return Object.entries(v as Record<string, number>).map(([t, n]) => `${t}=${n === 0 ? 0 : -n}`);
}

/**
 * Translates the parsed JSON of an aioconnectors config file for a
 * connector of `role`. Throws {@linkcode ConfigError} when the file is not a
 * JSON object, when `is_server` says the other role, or when a translated
 * key has the wrong shape.
 *
 * @example
 * ```ts
 * const { data, warning } = fromAioconnectorsConfig(
 *   { is_server: true, server_sockaddr: ["127.0.0.1", 10673] }, "aio.json", "server");
 * // data = { broker: { host: "127.0.0.1", port: 10673 } }
 * ```
 */
export function fromAioconnectorsConfig(json: unknown, path: string, role: AioRole): AioConfig {
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new ConfigError(
      `Invalid aioconnectors config file "${path}": expected a JSON object of ConnectorManager arguments`,
    );
  }
  const src = json as Record<string, unknown>;
  if (typeof src.is_server === "boolean" && src.is_server !== (role === "server")) {
    const cmd = src.is_server ? "sockkit broker serve" : "sockkit broker connect";
    throw new ConfigError(
      `Config file "${path}" has "is_server": ${src.is_server}: start it with "${cmd} --config ${path}"`,
    );
  }
  const broker: ConfigData = {};
  const ignored: string[] = [];
  for (const [key, value] of Object.entries(src)) {
    switch (key) {
      case "is_server":
        break;
      case "server_sockaddr": {
        const { host, port } = sockaddr(value, path);
        if (role === "server") Object.assign(broker, { host, port });
        else broker.server = hostPort(host, port);
        break;
      }
      case "client_name":
        if (role === "client" && value !== null) broker.name = value;
        break;
      case "connector_files_dirpath":
        if (value !== null) broker.dir = value;
        break;
      case "max_size_persistence_path":
        if (value !== null) broker.persist_max = value;
        break;
      case "max_size_file_upload_recv":
        if (value !== null) broker.max_file_size = value;
        break;
      case "file_type2dirpath": {
        if (typeof value !== "object" || value === null || Array.isArray(value)) {
          throw new ConfigError(
            `Invalid value for key "file_type2dirpath" in config file "${path}": expected an object of TYPE: PATH`,
          );
        }
        broker.file_dirs = Object.entries(value).map(([t, p]) => `${t}=${resolve(String(p))}`);
        break;
      }
      case "disk_persistence_send":
      case "disk_persistence_recv":
        // sockkit always persists both ways; only turning it off has no equivalent
        if (value === false || (Array.isArray(value) && value.length === 0)) {
          ignored.push(`${key}=false (sockkit always persists)`);
        }
        break;
      case "send_message_types_priorities": {
        if (value === null || value === undefined) break;
        broker.priorities = aioPriorities(value, path);
        break;
      }
      case "send_message_types":
      case "recv_message_types":
        if (!isAny(value)) ignored.push(`${key} (sockkit does not restrict message types)`);
        break;
      case "use_ssl":
        if (value === false) ignored.push("use_ssl=false (sockkit links are always mutual TLS)");
        break;
      case "ssl_allow_all":
        if (value === true) {
          ignored.push("ssl_allow_all=true (sockkit always verifies client certificates)");
        }
        break;
      case "whitelisted_clients_id":
      case "whitelisted_clients_ip":
      case "whitelisted_clients_subnet":
      case "blacklisted_clients_id":
      case "blacklisted_clients_ip":
      case "blacklisted_clients_subnet": {
        if (value === null || value === undefined) break;
        if (!Array.isArray(value) || value.some((v) => typeof v !== "string")) {
          throw new ConfigError(
            `Invalid value for key "${key}" in config file "${path}": expected a list of strings`,
          );
        }
        if (role !== "server") break;
        const list = key.startsWith("whitelisted") ? "allow" : "deny";
        const kind = key.endsWith("_id") ? "name" : key.endsWith("_ip") ? "ip" : "subnet";
        const prev = (broker[list] as string[] | undefined) ?? [];
        broker[list] = [...prev, ...(value as string[]).map((v) => `${kind}:${v}`)];
        break;
      }
      case "max_size_file_upload_send":
        if (value !== null) {
          ignored.push(
            "max_size_file_upload_send (a sender has no cap of its own: the receiver's --max-file-size refuses a larger file)",
          );
        }
        break;
      case "client_bind_ip":
        if (value !== null) ignored.push("client_bind_ip (a client connector binds no address)");
        break;
      case "certificates_directory_path":
        if (value !== null) {
          ignored.push(
            "certificates_directory_path (different layout: pass --certs DIR made by sockkit certs init)",
          );
        }
        break;
      default:
        if (!INTERNAL.has(key)) ignored.push(`${key} (unknown)`);
    }
  }
  const out: AioConfig = { data: { broker } };
  if (ignored.length > 0) {
    out.warning = `aioconnectors config "${path}": ignored keys with no sockkit equivalent: ${
      ignored.join(", ")
    }`;
  }
  return out;
}

/** Reads and translates an aioconnectors JSON config file; errors name the file. */
export async function loadAioconnectorsConfig(path: string, role: AioRole): Promise<AioConfig> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    const why = err instanceof Deno.errors.NotFound ? "file not found" : (err as Error).message;
    throw new ConfigError(`Cannot read config file "${path}": ${why}`, { cause: err });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(
      `Cannot parse config file "${path}" as JSON: ${(err as Error).message}`,
      { cause: err },
    );
  }
  return fromAioconnectorsConfig(json, path, role);
}
