import type { TLSSocket } from "node:tls";
import type { Socket } from "node:net";
import { X509Certificate } from "node:crypto";
import { verifiedIssuers } from "./_client_chain.ts";
import { certExtensions } from "./_cert_extensions.ts";
import { hostPort } from "./address.ts";

/** Who is on the other end of a connection. */
export interface PeerIdentity {
  /** Remote IP address (`127.0.0.1`, `::1`). */
  address: string;
  /** Remote port. */
  port: number;
  /** Whether the connection is TLS. */
  tls: boolean;
  /** Subject common name of the client certificate, when one was presented. */
  cn?: string;
  /** SHA-256 fingerprint of the client certificate as lowercase hex, when one was presented. */
  fingerprint?: string;
  /** Serial number of the client certificate, lowercase hex without leading zeros, when one was presented. */
  serial?: string;
  /** Issuer distinguished name of the client certificate (`CN=Operator A`, one RDN a line), when one was presented. */
  issuer?: string;
  /** Authority key identifier of the client certificate, lowercase hex, when it has one. */
  authorityKeyId?: string;
  /** Certificate expiry (`notAfter`), when one was presented. */
  validTo?: Date;
  /**
   * The certificates that issued the client certificate, from its issuer up to
   * the allow-listed CA it chains to (empty for a pinned or self-signed one),
   * when it verified.
   */
  issuers?: IssuerIdentity[];
  /** Whether the certificate chained to, or is, an allow-listed certificate. */
  authorized: boolean;
  /** Why the certificate was not authorized (`CERT_HAS_EXPIRED`, `DEPTH_ZERO_SELF_SIGNED_CERT`, ...). */
  authorizationError?: string;
}

/** One certificate of a client's verified chain above its own. */
export interface IssuerIdentity {
  /** Subject common name, when it has one. */
  cn?: string;
  /** SHA-256 fingerprint, lowercase hex. */
  fingerprint: string;
  /** Serial number, lowercase hex without leading zeros. */
  serial: string;
  /** Issuer distinguished name (as {@linkcode PeerIdentity.issuer}). */
  issuer: string;
  /** Authority key identifier, lowercase hex, when it has one. */
  authorityKeyId?: string;
}

/** Normalizes a fingerprint (`AB:CD:..`, any case) to lowercase hex without separators. */
export function normalizeFingerprint(fp: string): string {
  return fp.replaceAll(":", "").toLowerCase();
}

/**
 * Reads the identity of a connected socket (TLS or plain); `transport` is the
 * TCP socket under a TLS socket that wraps one (its address is the peer's).
 */
export function peerOf(socket: Socket | TLSSocket, tls: boolean, transport?: Socket): PeerIdentity {
  const peer: PeerIdentity = {
    address: transport?.remoteAddress ?? socket.remoteAddress ?? "unknown",
    port: transport?.remotePort ?? socket.remotePort ?? 0,
    tls,
    authorized: false,
  };
  if (!tls) return peer;
  const s = socket as TLSSocket;
  peer.authorized = s.authorized === true;
  if (s.authorizationError) peer.authorizationError = String(s.authorizationError);
  const issuers = verifiedIssuers(s);
  if (issuers) peer.issuers = issuers;
  const cert = s.getPeerCertificate?.();
  if (cert && Object.keys(cert).length > 0) {
    const cn = cert.subject?.CN;
    if (cn) peer.cn = Array.isArray(cn) ? cn[0]! : cn;
    if (cert.fingerprint256) peer.fingerprint = normalizeFingerprint(cert.fingerprint256);
    if (cert.valid_to) peer.validTo = new Date(cert.valid_to);
    if (cert.raw) {
      // The peer chose these bytes and TLS does not decode extensions: one
      // this cannot read leaves the fields unset (it is never an issuer match).
      try {
        const x = new X509Certificate(cert.raw);
        peer.issuer = x.issuer;
        const aki = certExtensions(new Uint8Array(cert.raw)).authorityKeyId;
        if (aki) peer.authorityKeyId = aki;
      } catch { /* unreadable extensions */ }
    }
    if (cert.serialNumber) {
      peer.serial = cert.serialNumber.replaceAll(":", "").toLowerCase().replace(/^0+(?=.)/, "");
    }
  }
  return peer;
}

/** A short human label for logs: `CN=alice 127.0.0.1:5123` or `127.0.0.1:5123`. */
export function describePeer(peer: PeerIdentity): string {
  const where = hostPort(peer.address, peer.port);
  return peer.cn ? `CN=${peer.cn} ${where}` : where;
}
