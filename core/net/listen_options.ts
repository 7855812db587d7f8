/** What a TCP/TLS listener is opened with: its TLS material, client checks, caps and policy. */
import type { ConnectionPolicy } from "./connection.ts";
import type { Logger } from "../log/mod.ts";
import type { PeerIdentity } from "./peer.ts";

/** Server-side TLS material, as PEM text. */
export interface TlsMaterial {
  /** Server certificate chain (PEM). */
  cert: string;
  /** Server private key (PEM). */
  key: string;
  /**
   * The client allow-list: CA certificates and individual (self-signed)
   * client certificates, PEM. A client certificate must chain to, or be, one
   * of these. Default: none (client certificates are not requested).
   */
  clientCa?: string[];
  /**
   * SHA-256 fingerprints (lowercase hex) of the `clientCa` entries that are
   * pins: a client is accepted through one only when the certificate it
   * presents is that very certificate, never one that it signed. Default:
   * none (every entry is a CA).
   */
  clientPins?: string[];
}

/**
 * Why a peer was refused: no client certificate, an unknown (not allow-listed)
 * one, a revoked or expired one, over a connection cap, no handshake in time,
 * another handshake failure, or the service's own `authorize` check.
 */
export type RefusalKind =
  | "no-cert"
  | "unknown"
  | "revoked"
  | "expired"
  | "cap"
  | "timeout"
  | "handshake"
  | "refused";

/** Options for {@linkcode listen}. */
export interface ListenOptions {
  /** Address to bind. Default `"0.0.0.0"`. */
  host?: string;
  /** Port to bind; `0` picks a free one (read it from {@linkcode Server.port}). */
  port: number;
  /** TLS material; without it the listener is plain TCP. */
  tls?: TlsMaterial;
  /**
   * Refuse clients that do not present a certificate from the allow-list.
   * Requires `tls.clientCa`. Default `false` (a certificate is requested when
   * `clientCa` is set, and its identity reported, but not required).
   */
  requireClientCert?: boolean;
  /**
   * An extra check after the handshake (revocation, claimed names). Return a
   * reason to refuse the peer, or `undefined` to accept. Default: accept.
   */
  authorize?: (peer: PeerIdentity) => string | undefined;
  /** Called for each refused peer with the reason and its kind (metrics, tests). */
  onRefused?: (peer: PeerIdentity | undefined, reason: string, kind: RefusalKind) => void;
  /** Logger for accept/refuse/error lines. Default: silent. */
  logger?: Logger;
  /** How long `close()` waits for handlers to finish before destroying sockets, ms. Default 5000. */
  graceMs?: number;
  /** How long a client may take to complete the TLS handshake, ms. Default 10000. */
  handshakeTimeoutMs?: number;
  /**
   * Most connections (live and in handshake) from one IP address; one more is
   * closed at once and refused with kind `"cap"`. Default: no cap.
   */
  maxPerAddress?: number;
  /**
   * Most connections (live and in handshake) at once, from anywhere; one more
   * is closed at once, before it costs a second descriptor, and refused with
   * kind `"cap"`. Default: no cap.
   */
  maxConnections?: number;
  /** Count loopback clients (127.0.0.0/8, ::1) against `maxPerAddress` too. Default `false`. */
  capLoopback?: boolean;
  /**
   * Bits of an IPv6 address that `maxPerAddress` counts by: every address
   * of one such prefix shares the cap. Default 64 (a host's usual share);
   * 128 counts each address apart.
   */
  ipv6Prefix?: number;
  /** The connection policy (idle timeout, unsent-bytes cap, half-open) for every connection. */
  policy?: ConnectionPolicy;
  /**
   * Highest TLS version offered. Default `"TLSv1.3"`. `"TLSv1.2"` suits
   * write-only clients: a TLS 1.3 server sends session tickets after the
   * handshake, and a client that never reads them and then closes makes its
   * kernel send a TCP reset, which discards whatever the server had not read
   * yet. Under TLS 1.2 the tickets are part of the handshake.
   */
  tlsMaxVersion?: "TLSv1.2" | "TLSv1.3";
}
