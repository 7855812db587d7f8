/** Address comparison for UDP peers. */
import { isIP } from "node:net";

/** The form of `address` a datagram's sender carries (IPv4-mapped IPv6 as IPv4, lower case). */
export function canonicalAddress(address: string): string {
  const a = address.toLowerCase();
  return a.startsWith("::ffff:") && isIP(a.slice(7)) === 4 ? a.slice(7) : a;
}
