/**
 * The per-address connection cap of the daemons (search, ingest, query,
 * broker): its default, the `listen` option it becomes, and its setting.
 */
import { parse } from "../config/mod.ts";
import type { ListenOptions } from "./listen_options.ts";
import { DEFAULT_IPV6_PREFIX } from "./address.ts";

/** Default connections at once from one IP address for a daemon's listener. */
export const DEFAULT_MAX_PER_ADDRESS = 64;

/**
 * The `listen` options for a per-address cap of `maxPerAddress` connections
 * (default {@linkcode DEFAULT_MAX_PER_ADDRESS}; `0` = no cap, so no option),
 * IPv6 addresses counted by their first `ipv6Prefix` bits (default
 * {@linkcode DEFAULT_IPV6_PREFIX}).
 *
 * @example
 * ```ts
 * await listen({ port: 0, ...perAddressCap(options.maxPerAddress, options.ipv6Prefix) }, handler);
 * ```
 */
export function perAddressCap(
  maxPerAddress: number | undefined,
  ipv6Prefix?: number,
): Pick<ListenOptions, "maxPerAddress" | "ipv6Prefix"> {
  const cap = maxPerAddress ?? DEFAULT_MAX_PER_ADDRESS;
  if (cap <= 0) return {};
  return ipv6Prefix === undefined ? { maxPerAddress: cap } : { maxPerAddress: cap, ipv6Prefix };
}

/**
 * The `--max-per-address <n>` and `--ipv6-prefix <bits>` settings of a
 * daemon, for `resolveSettings`: environment `SOCKKIT_<SERVICE>_MAX_PER_ADDRESS`
 * and `SOCKKIT_<SERVICE>_IPV6_PREFIX`, config keys `file` and the same with
 * `ipv6_prefix` for its `max_per_address`, defaults `fallback`
 * ({@linkcode DEFAULT_MAX_PER_ADDRESS}) and {@linkcode DEFAULT_IPV6_PREFIX}.
 *
 * @example
 * ```ts
 * const SPECS = { port: {...}, ...maxPerAddressSetting("query", "query.max_per_address") };
 * ```
 */
export function maxPerAddressSetting(
  service: string,
  file: string,
  fallback: number = DEFAULT_MAX_PER_ADDRESS,
  help = "connections at once from one IP address (loopback exempt); 0 = no cap",
) {
  const env = `SOCKKIT_${service.toUpperCase()}`;
  return {
    maxPerAddress: {
      parse: parse.integer(0, 1_000_000),
      flag: "--max-per-address",
      arg: "<n>",
      help,
      env: `${env}_MAX_PER_ADDRESS`,
      file,
      default: fallback,
    },
    ipv6Prefix: {
      parse: parse.integer(1, 128),
      flag: "--ipv6-prefix",
      arg: "<bits>",
      help: `IPv6 clients count against the per-address limits by their first <bits> bits ` +
        `(one host usually holds a whole /64); 128 = each address apart`,
      env: `${env}_IPV6_PREFIX`,
      file: file.replace(/max_per_address$/, "ipv6_prefix"),
      default: DEFAULT_IPV6_PREFIX,
    },
  } as const;
}
