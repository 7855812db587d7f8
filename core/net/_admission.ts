/**
 * Who a listener lets in: the per-address connection cap, counted from
 * accept to close, and the checks on a peer once its handshake is done
 * (client certificate required, allow-listed, not expired; the service's own
 * `authorize`).
 */
import type { ListenOptions, RefusalKind } from "./listen_options.ts";
import type { PeerIdentity } from "./peer.ts";
import { addressGroup, canonicalAddress, DEFAULT_IPV6_PREFIX, isLoopback } from "./address.ts";

/** Why a peer is refused, and the kind of refusal. */
export interface Refusal {
  reason: string;
  kind: RefusalKind;
}

/**
 * Connections open per remote address, against `maxPerAddress` (loopback
 * only with `capLoopback`). An IPv6 address counts by its first
 * `ipv6Prefix` bits: one host usually holds a whole /64, and counted one
 * address at a time it could open as many connections as it likes.
 */
export class AddressCaps {
  readonly #cap: number | undefined;
  readonly #capLoopback: boolean;
  readonly #prefix: number;
  readonly #open = new Map<string, number>();

  constructor(options: Pick<ListenOptions, "maxPerAddress" | "capLoopback" | "ipv6Prefix">) {
    this.#cap = options.maxPerAddress;
    this.#capLoopback = options.capLoopback ?? false;
    this.#prefix = options.ipv6Prefix ?? DEFAULT_IPV6_PREFIX;
  }

  /** Whether connections are counted at all (a cap is set). */
  get counting(): boolean {
    return this.#cap !== undefined;
  }

  /** Counts one more connection from `address`; a refusal (and nothing counted) when over the cap. */
  admit(address: string): Refusal | undefined {
    const cap = this.#cap;
    const a = canonicalAddress(address);
    if (cap === undefined || (!this.#capLoopback && isLoopback(a))) return undefined;
    const group = addressGroup(a, this.#prefix);
    const n = this.#open.get(group) ?? 0;
    if (n >= cap) {
      // The group, not the address: the reason keys the refusal log's budget.
      const counted = group.includes("/")
        ? ` (IPv6 addresses count by their first ${this.#prefix} bits, --ipv6-prefix)`
        : "";
      return {
        reason:
          `too many connections from "${group}": ${n} open, the per-address cap is ${cap}${counted}`,
        kind: "cap",
      };
    }
    this.#open.set(group, n + 1);
    return undefined;
  }

  /** Counts one connection from `address` as closed. */
  release(address: string): void {
    const group = addressGroup(address, this.#prefix);
    const n = this.#open.get(group);
    if (n === undefined) return;
    if (n <= 1) this.#open.delete(group);
    else this.#open.set(group, n - 1);
  }
}

/**
 * Checks a peer after its handshake: with `requireClientCert` a certificate
 * must be presented and verify against the allow-list (an expired one is
 * named as such), then the service's `authorize` has its say. `undefined`
 * admits the peer.
 */
export function checkPeer(
  peer: PeerIdentity,
  options: Pick<ListenOptions, "requireClientCert" | "authorize">,
): Refusal | undefined {
  if (peer.tls && options.requireClientCert) {
    if (!peer.fingerprint) return { reason: "no client certificate presented", kind: "no-cert" };
    if (!peer.authorized) {
      // rustls reports an expired certificate as an unverifiable signature; say what it is.
      if (peer.validTo !== undefined && peer.validTo.getTime() < Date.now()) {
        return {
          reason: `client certificate expired on ${peer.validTo.toISOString()}`,
          kind: "expired",
        };
      }
      return {
        reason: `client certificate not allowed (${
          peer.authorizationError ?? "not in the allow-list"
        })`,
        kind: "unknown",
      };
    }
  }
  const reason = options.authorize?.(peer);
  if (reason === undefined) return undefined;
  return { reason, kind: /revoked/i.test(reason) ? "revoked" : "refused" };
}
