/**
 * The per-address connection cap of the daemons (search, ingest, query,
 * broker): its default, the `listen` option it becomes, and its setting.
 */
import { parse } from "../config/mod.ts";
import type { ListenOptions } from "./listen_options.ts";

/** Default connections at once from one IP address for a daemon's listener. */
export const DEFAULT_MAX_PER_ADDRESS = 64;

/**
 * The `listen` option for a per-address cap of `maxPerAddress` connections
 * (default {@linkcode DEFAULT_MAX_PER_ADDRESS}; `0` = no cap, so no option).
 *
 * @example
 * ```ts
 * await listen({ port: 0, ...perAddressCap(options.maxPerAddress) }, handler);
 * ```
 */
export function perAddressCap(
  maxPerAddress: number | undefined,
): Pick<ListenOptions, "maxPerAddress"> {
  const cap = maxPerAddress ?? DEFAULT_MAX_PER_ADDRESS;
  return cap > 0 ? { maxPerAddress: cap } : {};
}

/**
 * The `--max-per-address <n>` setting of a daemon, for `resolveSettings`:
 * environment `SOCKKIT_<SERVICE>_MAX_PER_ADDRESS`, config key `file`
 * (none when `undefined`), default `fallback` ({@linkcode DEFAULT_MAX_PER_ADDRESS}).
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
  return {
    maxPerAddress: {
      parse: parse.integer(0, 1_000_000),
      flag: "--max-per-address",
      arg: "<n>",
      help,
      env: `SOCKKIT_${service.toUpperCase()}_MAX_PER_ADDRESS`,
      file,
      default: fallback,
    },
  } as const;
}
