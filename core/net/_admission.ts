/**
 * Who a listener lets in: the per-address connection cap, counted from
 * accept to close, and the checks on a peer once its handshake is done
 * (client certificate required, allow-listed, not expired; the service's own
 * `authorize`).
 */
import type { ListenOptions, RefusalKind } from "./listen_options.ts";
import type { PeerIdentity } from "./peer.ts";

/** Why a peer is refused, and the kind of refusal. */
export interface Refusal {
  reason: string;
  kind: RefusalKind;
}

const LOOPBACK = /^(127\.|::1$|::ffff:127\.)/;

/** Connections open per remote address, against `maxPerAddress` (loopback only with `capLoopback`). */
export class AddressCaps {
  readonly #cap: number | undefined;
  readonly #capLoopback: boolean;
  readonly #open = new Map<string, number>();

  constructor(options: Pick<ListenOptions, "maxPerAddress" | "capLoopback">) {
    this.#cap = options.maxPerAddress;
    this.#capLoopback = options.capLoopback ?? false;
  }

  /** Whether connections are counted at all (a cap is set). */
  get counting(): boolean {
    return this.#cap !== undefined;
  }

  /** Counts one more connection from `address`; a refusal (and nothing counted) when over the cap. */
  admit(address: string): Refusal | undefined {
    const cap = this.#cap;
    if (cap === undefined || (!this.#capLoopback && LOOPBACK.test(address))) return undefined;
    const n = this.#open.get(address) ?? 0;
    if (n >= cap) {
      return {
        reason: `too many connections from "${address}": ${n} open, the per-address cap is ${cap}`,
        kind: "cap",
      };
    }
    this.#open.set(address, n + 1);
    return undefined;
  }

  /** Counts one connection from `address` as closed. */
  release(address: string): void {
    const n = this.#open.get(address);
    if (n === undefined) return;
    if (n <= 1) this.#open.delete(address);
    else this.#open.set(address, n - 1);
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
