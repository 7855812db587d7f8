/** What the servercli server is started with, and the counters it reports. */
import type { Logger } from "../log/mod.ts";
import type { PeerIdentity, TlsMaterial } from "../net/mod.ts";
import type { DaemonMetrics } from "../metrics/mod.ts";
import type { DateFormat } from "./date.ts";

/**
 * The certificate and key the replaced servercli (and its client, as the CA)
 * loaded by default: `servercli` serves them when no certificate is given and
 * the default certificates directory has no `server.pem`.
 */
export const REPLACED_SERVER_CERT = { cert: "certs/my.crt", key: "certs/my.key" } as const;

/** Options for {@linkcode startChatServer}. */
export interface ChatServerOptions {
  /** Address to bind. Default `"0.0.0.0"`. */
  host?: string;
  /** Port to bind; `0` picks a free one. */
  port: number;
  /** Server certificate and key, and the client allow-list for mutual TLS (PEM). */
  tls: TlsMaterial;
  /** Refuse clients without an allow-listed certificate. Default `false`. */
  requireClientCert?: boolean;
  /** Extra check after the handshake (revocation); return a reason to refuse. Default: accept. */
  authorize?: (peer: PeerIdentity) => string | undefined;
  /** Most clients served at once; one more gets an error line and is closed. Default 100. */
  maxClients?: number;
  /** Time between date broadcasts, ms. Default 10000. */
  periodMs?: number;
  /** `date` (`2026-11-24`) or `iso` timestamp. Default `"date"`. */
  dateFormat?: DateFormat;
  /** Send every message as a `{"msg_type":...,"payload":...}` JSON line. Default `false`. */
  json?: boolean;
  /**
   * A client whose partial line (bytes without a newline) has not completed
   * within this many ms gets an error line and is closed. 0 = off. Default 30000.
   */
  lineTimeoutMs?: number;
  /**
   * Most clients from one IP address at once; one more is refused at the
   * handshake. Loopback addresses count only with `capLoopback`. 0 = no cap.
   * Default 10.
   */
  maxPerAddress?: number;
  /** IPv6 addresses count against `maxPerAddress` by their first this many bits. Default 64. */
  ipv6Prefix?: number;
  /** Count loopback clients against `maxPerAddress`. Default `false`. */
  capLoopback?: boolean;
  /** Longest line accepted from a client, bytes. Default 4096. */
  maxLineBytes?: number;
  /**
   * A client whose unsent output exceeds this many bytes (it stopped
   * reading) is skipped by the broadcast instead of buffering more. Default 65536.
   */
  maxBacklogBytes?: number;
  /**
   * Unread replies queued for one client, bytes; a client that keeps sending
   * without reading beyond this is closed, so the memory one connection can
   * hold stays bounded. Default 4 MiB.
   */
  maxPendingBytes?: number;
  /** How long `close()` waits for clients to take the going-away line, ms. Default 2000. */
  graceMs?: number;
  /** Clock for the broadcast date. Default `() => new Date()`. */
  now?: () => Date;
  /** Logger. Broadcast work is logged at debug. Default: silent. */
  logger?: Logger;
  /** Registers the servercli and network series here. Default: none. */
  daemonMetrics?: DaemonMetrics;
}

/** Counters a test or the bench can read. */
export interface ChatServerStats {
  /** Clients being served now. */
  clients: number;
  /** Broadcasts done since start. */
  broadcasts: number;
  /** Whether the broadcast timer is scheduled (only while clients > 0). */
  timerRunning: boolean;
  /** Clients turned away because the server was full. */
  refusedFull: number;
  /** Lines answered (reversed) since start. */
  linesEchoed: number;
  /** Dates sent since start (one per client per broadcast). */
  datesSent: number;
}
