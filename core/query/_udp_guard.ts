/**
 * Which UDP datagrams the query server answers. UDP sources can be forged,
 * and a query reply is itself a well-formed request (reply header = request
 * header), so a forged datagram could make two servers (or one server and
 * itself) answer each other forever. The server therefore never answers
 * itself or source port 0, sends nothing for a request it cannot read, and
 * sends at most a few error replies per second to one source address, so
 * that a loop between two servers decays to a trickle. A reply that is an
 * answer can loop as well (a handler's "NOT FOUND" is a query too), so a
 * source sending from a service port (below the ephemeral range, where
 * servers listen: a forged loop's source) gets few replies of any kind, and
 * a remote source address a bounded number per second (forged sources make
 * replies a flood towards a victim).
 */
import { networkInterfaces } from "node:os";
import { canonicalAddress, isLoopback } from "../net/mod.ts";

/** Why a datagram got no reply. */
export type DropReason =
  | "own_address"
  | "port_0"
  | "unreadable"
  | "error_rate"
  | "service_port_rate"
  | "source_rate"
  | "source_bytes";

/** This host's addresses: every interface's, and the loopback ranges (checked apart). */
export function localAddresses(): Set<string> {
  const out = new Set<string>(["::1", "0.0.0.0", "::"]);
  for (const list of Object.values(networkInterfaces())) {
    for (const i of list ?? []) out.add(canonicalAddress(i.address));
  }
  return out;
}

/**
 * Why a datagram from `hostname:port` must not be answered by a server bound
 * to `boundPort` on this host (`local`: {@linkcode localAddresses}), or
 * `undefined` when it may be: source port 0 cannot be a client, and a source
 * that is a local address with the server's own port is the server itself.
 */
export function sourceDropReason(
  from: { hostname: string; port: number },
  boundPort: number,
  local: ReadonlySet<string>,
): DropReason | undefined {
  if (from.port === 0) return "port_0";
  if (from.port !== boundPort) return undefined;
  const a = canonicalAddress(from.hostname);
  return isLoopback(a) || local.has(a) ? "own_address" : undefined;
}

/**
 * Below this, a source port is a service port: Linux hands out client
 * (ephemeral) ports from 32768, BSD, macOS and Windows from 49152.
 */
export const EPHEMERAL_FROM = 32768;

/** Options for {@linkcode ReplyLimit}. */
export interface ReplyLimitOptions {
  /** Replies (or, taken with a cost, units such as bytes) per source per window. Default 50. */
  perWindow?: number;
  /** The window, ms. Default 1000. */
  windowMs?: number;
  /**
   * Sources counted one by one per window. Default 4096. Sources past them
   * (a flood from forged addresses) share {@linkcode OVERFLOW_BUCKETS}
   * counters by a keyed hash, so a new client is still answered.
   */
  maxSources?: number;
  /** Milliseconds now. Default `performance.now`. */
  now?: () => number;
}

/** Counters shared by the sources past `maxSources` in one window (see {@linkcode ReplyLimit}). */
export const OVERFLOW_BUCKETS = 65_536;

/**
 * At most `perWindow` replies per source (a key: an address, or
 * address:port) per window. The first `maxSources` sources of a window are
 * counted exactly, in a map; the rest share {@linkcode OVERFLOW_BUCKETS}
 * counters picked by a hash keyed with a per-process secret. Memory stays
 * bounded either way, and a flood from forged sources cannot lock new
 * clients out: before, every source past the map's 4,096 got nothing for
 * the rest of the window. An overflow source gets no more than `perWindow`
 * (it may get fewer, sharing a counter that others used); a forger cannot
 * aim at a client's counter without the secret.
 */
export class ReplyLimit {
  readonly #perWindow: number;
  readonly #windowMs: number;
  readonly #maxSources: number;
  readonly #now: () => number;
  readonly #seed = crypto.getRandomValues(new Uint32Array(1))[0]!;
  #windowStart = -Infinity;
  readonly #sent = new Map<string, number>();
  /** Counters of the sources past `maxSources` this window (allocated on first use). */
  #overflow: Uint32Array | undefined;

  constructor(options: ReplyLimitOptions = {}) {
    this.#perWindow = options.perWindow ?? 50;
    this.#windowMs = options.windowMs ?? 1000;
    this.#maxSources = options.maxSources ?? 4096;
    this.#now = options.now ?? (() => performance.now());
  }

  /**
   * Takes one reply to source `address`, costing `cost` of its `perWindow`
   * (1 by default; a reply's bytes for a byte budget): `false` when it must
   * not be sent (then nothing is taken).
   */
  take(address: string, cost = 1): boolean {
    const now = this.#now();
    if (now - this.#windowStart >= this.#windowMs) {
      this.#windowStart = now;
      this.#sent.clear();
      this.#overflow?.fill(0);
    }
    const n = this.#sent.get(address);
    if (n === undefined && this.#sent.size >= this.#maxSources) {
      return this.#takeOverflow(address, cost);
    }
    const next = (n ?? 0) + cost;
    if (next > this.#perWindow) return false;
    this.#sent.set(address, next);
    return true;
  }

  #takeOverflow(address: string, cost: number): boolean {
    const counts = this.#overflow ??= new Uint32Array(OVERFLOW_BUCKETS);
    const i = keyedHash(address, this.#seed) & (OVERFLOW_BUCKETS - 1);
    if (counts[i]! + cost > this.#perWindow) return false;
    counts[i]! += cost;
    return true;
  }
}

/** FNV-1a over the UTF-16 code units of `s`, started from `seed`, with a final avalanche. */
function keyedHash(s: string, seed: number): number {
  let h = (2166136261 ^ seed) >>> 0;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 16777619);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
