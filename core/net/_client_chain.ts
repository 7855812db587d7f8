/**
 * What a verified client certificate is allowed through: an allow-list entry
 * that is a CA (the certificate chains to it) or one that is pinned (the
 * client presented exactly that certificate). The TLS library trusts every
 * entry as an issuer; this check, run after it, refuses a certificate signed
 * by a pinned one and records the chain for revocation checks.
 */
import { X509Certificate } from "node:crypto";
import type { DetailedPeerCertificate, TLSSocket } from "node:tls";
import { type IssuerIdentity, normalizeFingerprint } from "./peer.ts";
import { certExtensions } from "./_cert_extensions.ts";
import { errorText } from "../log/mod.ts";

/** The allow-list split into CAs and pins, by SHA-256 fingerprint (lowercase hex), parsed once per (re)load. */
export interface ClientTrust {
  anchors: Set<string>;
  pins: Set<string>;
  /** Every allow-list entry (CA or pin) by subject, so an issuer is found by name and key, not name alone. */
  bySubject: Map<string, X509Certificate[]>;
  /**
   * Signature checks already done ("certificate fp > issuer fp" → whether the
   * issuer's key verifies it): a fact that never changes, and clients that
   * reconnect with the same certificate would otherwise pay for an ECDSA or
   * RSA verification on every handshake. At most {@linkcode MAX_VERIFIED} entries.
   */
  verified: Map<string, boolean>;
}

/** Most signature checks a {@linkcode ClientTrust} remembers (the oldest go first). */
const MAX_VERIFIED = 4096;

/** Longest chain walked above a client certificate. */
const MAX_DEPTH = 8;

const hex = normalizeFingerprint;
const serialHex = (s: string) => s.replaceAll(":", "").toLowerCase().replace(/^0+(?=.)/, "");

/** Splits the allow-list (`clientCa`, PEM strings that may each hold several certificates) by `pins`. */
export function clientTrustOf(clientCa: string[], pins: string[] | undefined): ClientTrust {
  const pinned = new Set((pins ?? []).map(hex));
  const anchors = new Set<string>();
  const bySubject = new Map<string, X509Certificate[]>();
  for (const pem of clientCa) {
    for (
      const block of pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ??
        []
    ) {
      const cert = new X509Certificate(block);
      const fp = hex(cert.fingerprint256);
      if (!pinned.has(fp)) anchors.add(fp);
      const same = bySubject.get(cert.subject) ?? [];
      if (!same.some((c) => hex(c.fingerprint256) === fp)) same.push(cert);
      bySubject.set(cert.subject, same);
    }
  }
  return { anchors, pins: pinned, bySubject, verified: new Map() };
}

/** The issuers recorded for each verified server-side TLS socket. */
const chains = new WeakMap<TLSSocket, IssuerIdentity[]>();

/** The verified chain above the client certificate of `socket`, once {@linkcode checkClientChain} passed it. */
export function verifiedIssuers(socket: TLSSocket): IssuerIdentity[] | undefined {
  return chains.get(socket);
}

function identityOf(c: X509Certificate): IssuerIdentity {
  const id: IssuerIdentity = {
    fingerprint: hex(c.fingerprint256),
    serial: serialHex(c.serialNumber),
    issuer: c.issuer,
  };
  const cn = /^CN=(.*)$/m.exec(c.subject)?.[1];
  if (cn) id.cn = cn;
  const aki = certExtensions(new Uint8Array(c.raw)).authorityKeyId;
  if (aki) id.authorityKeyId = aki;
  return id;
}

const nameOf = (c: X509Certificate) => `"${c.subject.replaceAll("\n", ", ")}"`;

/** Why `c` is outside its validity period at `now`, or `undefined`. */
function outOfDate(c: X509Certificate, now: number): string | undefined {
  if (now < new Date(c.validFrom).getTime()) return `is not valid before ${c.validFrom}`;
  if (now > new Date(c.validTo).getTime()) return `expired at ${c.validTo}`;
  return undefined;
}

/**
 * Why `issuer`, with `below` CA certificates between it and the client
 * certificate that count towards path length, may not sign the certificate
 * under it, or `undefined`: it must be a CA, allow that many CAs below it
 * (pathLenConstraint) and, when it states key usages, have keyCertSign.
 */
function issuerLimit(issuer: X509Certificate, below: number): string | undefined {
  const ext = certExtensions(new Uint8Array(issuer.raw));
  if (!issuer.ca || ext.basicConstraints?.ca === false) {
    return `its issuer ${nameOf(issuer)} is not a CA (basicConstraints CA:FALSE or missing)`;
  }
  const limit = ext.basicConstraints?.pathLength;
  if (limit !== undefined && below > limit) {
    return `CA ${nameOf(issuer)} allows ${limit} CA certificate(s) below it (pathlen:${limit}) ` +
      `but the chain has ${below}: path length constraint exceeded`;
  }
  if (ext.keyUsage && !ext.keyUsage.keyCertSign) {
    return `CA ${nameOf(issuer)} may not sign certificates: its keyUsage lacks keyCertSign`;
  }
  return undefined;
}

/** Whether `issuer`'s key verifies the signature of `cur` (fingerprint `curFp`), remembered in `trust`. */
function signedBy(
  cur: X509Certificate,
  curFp: string,
  issuer: X509Certificate,
  trust: ClientTrust,
): boolean {
  const key = `${curFp}>${hex(issuer.fingerprint256)}`;
  let ok = trust.verified.get(key);
  if (ok === undefined) {
    ok = cur.verify(issuer.publicKey);
    if (trust.verified.size >= MAX_VERIFIED) {
      trust.verified.delete(trust.verified.keys().next().value!);
    }
    trust.verified.set(key, ok);
  }
  return ok;
}

/**
 * The certificate that signed `cur`: the one the client (or the TLS library)
 * put above it when its key verifies the signature, else the allow-list entry
 * with `cur`'s issuer name whose key does (entries may share a subject: a
 * rotated CA, or a pin named like a CA).
 */
function issuerOf(
  cur: X509Certificate,
  presented: X509Certificate | undefined,
  trust: ClientTrust,
): X509Certificate | undefined {
  const self = hex(cur.fingerprint256);
  if (
    presented && hex(presented.fingerprint256) !== self && presented.subject === cur.issuer &&
    signedBy(cur, self, presented, trust)
  ) return presented;
  const named = (trust.bySubject.get(cur.issuer) ?? []).filter((c) =>
    hex(c.fingerprint256) !== self && signedBy(cur, self, c, trust)
  );
  // a CA before a pin, so a pin named like an operator CA does not shadow it
  return named.find((c) => trust.anchors.has(hex(c.fingerprint256))) ?? named[0];
}

/**
 * Checks the client certificate of `socket`, which the TLS library verified
 * against the whole allow-list: a pinned entry admits only itself, and any
 * other certificate must chain, signature by signature, to an entry that is a
 * CA, each issuer within its limits (CA, path length, keyCertSign) and each
 * certificate within its validity period. Returns why it is refused, or
 * `undefined` (and records its issuers).
 */
export function checkClientChain(socket: TLSSocket, trust: ClientTrust): string | undefined {
  try {
    return walkChain(socket, trust);
  } catch (err) {
    // Runs in the handshake's "secure" event: a throw would escape into the
    // TLS internals. A chain this check cannot read is refused (fail closed).
    return `its certificate chain cannot be read: ${errorText(err)}`;
  }
}

function walkChain(socket: TLSSocket, trust: ClientTrust): string | undefined {
  const leaf = socket.getPeerCertificate(true);
  const leafFp = hex(leaf.fingerprint256);
  if (trust.pins.has(leafFp) || trust.anchors.has(leafFp)) {
    chains.set(socket, []);
    return undefined;
  }
  const now = Date.now();
  const issuers: IssuerIdentity[] = [];
  // CA certificates between the current issuer and the leaf that count towards a path length: a
  // self-issued one (subject = issuer, as after a CA's key rollover) does not (RFC 5280 6.1.4 (l)).
  let below = 0;
  let cur = new X509Certificate(leaf.raw);
  let detail: DetailedPeerCertificate | undefined = leaf;
  const late = outOfDate(cur, now);
  if (late) return `it ${late}`;
  for (let depth = 0; depth < MAX_DEPTH; depth++) {
    const up: DetailedPeerCertificate | undefined = detail?.issuerCertificate;
    const presented: X509Certificate | undefined = up?.raw
      ? new X509Certificate(up.raw)
      : undefined;
    const issuer = issuerOf(cur, presented, trust);
    if (!issuer) break;
    detail = issuer === presented ? up : undefined;
    const id = identityOf(issuer);
    if (trust.pins.has(id.fingerprint)) {
      return `issued by CN=${id.cn ?? "?"} (sha256 ${id.fingerprint}), an allow-listed ` +
        `certificate that is pinned: it admits only itself, not certificates it signed ` +
        `(allow the client's own certificate, or an operator CA with "sockkit certs allow --ca")`;
    }
    if (depth > 0 && cur.subject !== cur.issuer) below++;
    const limit = issuerLimit(issuer, below);
    if (limit) return limit;
    const stale = outOfDate(issuer, now);
    if (stale) return `CA ${nameOf(issuer)} in its chain ${stale}`;
    issuers.push(id);
    if (trust.anchors.has(id.fingerprint)) {
      chains.set(socket, issuers);
      return undefined;
    }
    cur = issuer;
  }
  return "its chain does not reach a CA of the allow-list";
}
