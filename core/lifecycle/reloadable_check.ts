import type { PeerIdentity } from "../net/mod.ts";

/** A check run on each peer after its handshake: a refusal reason, or `undefined` to admit it. */
export type PeerCheck = (peer: PeerIdentity) => string | undefined;

/**
 * The peer check (a revocation list) of a daemon whose reload may replace
 * it: give {@linkcode ReloadableCheck.authorize} to the server once, as its
 * `authorize`, and every new connection asks the check in force. A reload
 * that changes the certificates directory builds the check of the new one
 * and passes it to `applyTls` (or {@linkcode ReloadableCheck.replace}), so the
 * old directory's list stops counting.
 *
 * @example
 * ```ts
 * const check = new ReloadableCheck(revocationCheck(certPaths("certs").revoked));
 * await using server = await listen({ port: 1191, tls, authorize: check.authorize }, handler);
 * // on reload:
 * applyTls([server], next, { check, authorize: revocationCheck(certPaths("certsB").revoked), logger });
 * ```
 */
export class ReloadableCheck {
  #current: PeerCheck | undefined;

  /** Starts with `initial` in force; `undefined` admits every peer. */
  constructor(initial: PeerCheck | undefined) {
    this.#current = initial;
  }

  /** Asks the check in force (none admits the peer). Stable: pass it where a server takes `authorize`. */
  readonly authorize: PeerCheck = (peer) => this.#current?.(peer);

  /** Puts `next` in force for every later connection; `undefined` admits every peer. */
  replace(next: PeerCheck | undefined): void {
    this.#current = next;
  }
}
