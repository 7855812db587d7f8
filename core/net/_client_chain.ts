/**
 * What a verified client certificate is allowed through: an allow-list entry
 * that is a CA (the certificate chains to it) or one that is pinned (the
 * client presented exactly that certificate). The TLS library trusts every
 * entry as an issuer; this check, run after it, refuses a certificate signed
 * by a pinned one and records the chain for revocation checks.
 */
import { X509Certificate } from "node:crypto";
import type { DetailedPeerCertificate, TLSSocket } from "node:tls";
import type { IssuerIdentity } from "./peer.ts";

/** The allow-list split into CAs and pins, by SHA-256 fingerprint (lowercase hex). */
export interface ClientTrust {
  anchors: Set<string>;
  pins: Set<string>;
}

/** Longest chain walked above a client certificate. */
const MAX_DEPTH = 8;

const hex = (fp: string) => fp.replaceAll(":", "").toLowerCase();
const serialHex = (s: string) => s.replaceAll(":", "").toLowerCase().replace(/^0+(?=.)/, "");

/** Splits the allow-list (`clientCa`, PEM strings that may each hold several certificates) by `pins`. */
export function clientTrustOf(clientCa: string[], pins: string[] | undefined): ClientTrust {
  const pinned = new Set((pins ?? []).map(hex));
  const anchors = new Set<string>();
  for (const pem of clientCa) {
    for (
      const block of pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ??
        []
    ) {
      const fp = hex(new X509Certificate(block).fingerprint256);
      if (!pinned.has(fp)) anchors.add(fp);
    }
  }
  return { anchors, pins: pinned };
}

/** The issuers recorded for each verified server-side TLS socket. */
const chains = new WeakMap<TLSSocket, IssuerIdentity[]>();

/** The verified chain above the client certificate of `socket`, once {@linkcode checkClientChain} passed it. */
export function verifiedIssuers(socket: TLSSocket): IssuerIdentity[] | undefined {
  return chains.get(socket);
}

function identityOf(c: DetailedPeerCertificate): IssuerIdentity {
  const cn = c.subject?.CN;
  const id: IssuerIdentity = {
    fingerprint: hex(c.fingerprint256),
    serial: serialHex(c.serialNumber),
  };
  if (cn) id.cn = Array.isArray(cn) ? cn[0]! : cn;
  return id;
}

/**
 * Checks the client certificate of `socket`, which the TLS library verified
 * against the whole allow-list: a pinned entry admits only itself, and any
 * other certificate must chain, signature by signature, to an entry that is a
 * CA. Returns why it is refused, or `undefined` (and records its issuers).
 */
export function checkClientChain(socket: TLSSocket, trust: ClientTrust): string | undefined {
  const leaf = socket.getPeerCertificate(true);
  const leafFp = hex(leaf.fingerprint256);
  if (trust.pins.has(leafFp) || trust.anchors.has(leafFp)) {
    chains.set(socket, []);
    return undefined;
  }
  const issuers: IssuerIdentity[] = [];
  let cur = leaf;
  for (let depth = 0; depth < MAX_DEPTH; depth++) {
    const next = cur.issuerCertificate;
    if (!next || !next.raw || hex(next.fingerprint256) === hex(cur.fingerprint256)) break;
    const issuer = new X509Certificate(next.raw);
    if (!issuer.ca || !new X509Certificate(cur.raw).verify(issuer.publicKey)) break;
    const id = identityOf(next);
    if (trust.pins.has(id.fingerprint)) {
      return `issued by CN=${id.cn ?? "?"} (sha256 ${id.fingerprint}), an allow-listed ` +
        `certificate that is pinned: it admits only itself, not certificates it signed ` +
        `(allow the client's own certificate, or an operator CA with "sockkit certs allow --ca")`;
    }
    issuers.push(id);
    if (trust.anchors.has(id.fingerprint)) {
      chains.set(socket, issuers);
      return undefined;
    }
    cur = next;
  }
  return "its chain does not reach a CA of the allow-list";
}
