/**
 * A peer's IP address as text: its canonical form, with a port, whether it
 * is loopback, and the group a per-address cap counts it in (an IPv6 address by its
 * prefix, since one host usually holds a whole /64).
 */
import { isIP } from "node:net";

/** Bits of an IPv6 address that a per-address cap counts by default: one /64 is one address. */
export const DEFAULT_IPV6_PREFIX = 64;

/**
 * The form of `address` the rest of `core` compares: lower case, a zone
 * (`%eth0`) removed, an IPv4-mapped IPv6 address (`::ffff:1.2.3.4`, as a
 * dual-stack socket reports an IPv4 peer) as the IPv4 address.
 */
export function canonicalAddress(address: string): string {
  const a = address.toLowerCase().replace(/%.*$/, "");
  return a.startsWith("::ffff:") && isIP(a.slice(7)) === 4 ? a.slice(7) : a;
}

/**
 * `host:port`, an IPv6 address in brackets (`[fd00::1]:443`), so that the
 * port can be told from the address.
 */
export function hostPort(host: string, port: number): string {
  return host.includes(":") && !host.startsWith("[") ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Whether `address` ({@linkcode canonicalAddress} form) is a loopback address (only this host can send from it). */
export function isLoopback(address: string): boolean {
  return address.startsWith("127.") || address === "::1";
}

/**
 * The group `address` counts in against a per-address cap: an IPv4 address
 * itself, an IPv6 address its first `ipv6Prefix` bits (`2001:db8:0:7::/64`;
 * 128 or more: the address itself). Text that is not an IP address is
 * returned as it is.
 *
 * @example
 * ```ts
 * addressGroup("2001:db8:0:7:a::1"); // "2001:db8:0:7::/64"
 * addressGroup("::ffff:10.0.0.1"); // "10.0.0.1"
 * ```
 */
export function addressGroup(address: string, ipv6Prefix: number = DEFAULT_IPV6_PREFIX): string {
  const a = canonicalAddress(address);
  if (ipv6Prefix >= 128 || isIP(a) !== 6) return a;
  const words = ipv6Words(a);
  if (!words) return a;
  const bits = Math.max(0, Math.floor(ipv6Prefix));
  const kept: string[] = [];
  for (let i = 0; i * 16 < bits; i++) {
    const keep = Math.min(16, bits - i * 16);
    kept.push((words[i]! & (0xffff << (16 - keep)) & 0xffff).toString(16));
  }
  return `${kept.join(":")}::/${bits}`;
}

/** The eight 16-bit words of a valid IPv6 address in text (`::` and a dotted IPv4 tail expanded). */
function ipv6Words(a: string): number[] | undefined {
  const text = a.replace(
    /(\d+)\.(\d+)\.(\d+)\.(\d+)$/,
    (_, b0, b1, b2, b3) => `${((+b0 << 8) | +b1).toString(16)}:${((+b2 << 8) | +b3).toString(16)}`,
  );
  const [head, rest] = text.split("::") as [string, string | undefined];
  const words = (s: string) => s === "" ? [] : s.split(":").map((w) => parseInt(w, 16));
  const front = words(head);
  const back = rest === undefined ? [] : words(rest);
  const gap = 8 - front.length - back.length;
  if (gap < 0 || (rest === undefined && gap !== 0)) return undefined;
  return [...front, ...new Array<number>(gap).fill(0), ...back];
}
