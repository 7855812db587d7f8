import type { ClientTlsOptions, PeerIdentity, TlsMaterial } from "../net/mod.ts";
import type { Logger } from "../log/mod.ts";
import type { DaemonMetrics } from "../metrics/mod.ts";
import type { MsgHeader } from "./frame.ts";
import type { PubSubRule } from "./pubsub.ts";
import type { FilterLists } from "./client_filter.ts";
import type { OnExists } from "./files.ts";
import type { ClusterNode } from "./cluster/node.ts";

/** Protocol version carried in hello/welcome. */
export const PROTOCOL_VERSION = 1;
/** Default TCP port of `broker serve`. */
export const DEFAULT_BROKER_PORT = 10673;
/** Default frame size cap: 16 MiB. */
export const DEFAULT_MAX_FRAME = 16 * 1024 * 1024;
/** Default journal cap per peer: 1 GiB. */
export const DEFAULT_PERSIST_MAX = 1024 ** 3;
/** File name of the local API socket inside the state directory. */
export const SOCKET_NAME = "broker.sock";

/** Options for {@linkcode Connector.start}. */
export interface ConnectorOptions {
  /** This connector's name (a client's must match its certificate CN). Server default `"server"`. */
  name: string;
  /** State directory: journals, queues and the local socket live here (created 0700). */
  dir: string;
  /** Run as the server connector: listen with mutual TLS. */
  server?: {
    host?: string;
    port: number;
    tls: TlsMaterial;
    /** Joins this server to a cluster (see `core/broker/cluster`); the caller closes it after the connector. Default: none. */
    cluster?: ClusterNode;
    /** Allow and deny lists of client names, IP addresses and subnets (see `ClientFilter`). */
    clientFilter?: Partial<FilterLists>;
    /**
     * Asked, after every other check, before a client is admitted (the chat's
     * `--accept`): resolve a refusal reason (final for the client), a
     * refusal the client retries after (`final: false`), or `undefined`.
     */
    admit?: (
      peer: PeerIdentity,
      name: string,
    ) => Promise<string | { reason: string; final: false } | undefined>;
    /** Extra check per client (revocation). Return a refusal reason or `undefined`. */
    authorize?: (peer: PeerIdentity) => string | undefined;
    /**
     * Accept any client certificate (still required, and its CN must match
     * the claimed name); for throwaway-certificate chats where users compare
     * fingerprints instead. Default `false`.
     */
    trustAnyClient?: boolean;
    /** Who may publish, subscribe and send client-to-client. Default: any authenticated client. */
    pubsubRule?: PubSubRule;
    /**
     * Connections at once (live and in handshake) from one IP address,
     * loopback exempt; one more is closed at once and logged. 0 = no cap.
     * Default 64.
     */
    maxPerAddress?: number;
    /** IPv6 addresses count against `maxPerAddress` by their first this many bits. Default 64. */
    ipv6Prefix?: number;
  };
  /** Run as a client connector: connect (and reconnect) to the server. */
  client?: {
    host: string;
    port: number;
    tls: ClientTlsOptions;
    /** The server connector's name (destination of messages). Default `"server"`. */
    serverName?: string;
    /** More servers of the same cluster, tried in order when the one before cannot be reached. Default none. */
    fallbacks?: Array<{ host: string; port: number }>;
  };
  /** Cap of each peer's outbound journal and each type queue, bytes. Default 1 GiB. */
  persistMaxBytes?: number;
  /**
   * Message type → priority of its messages to every peer: a higher number
   * leaves a peer's queue (journal, congested link) first; within a priority,
   * in order. Unlisted types have 0. Default none.
   */
  priorities?: Record<string, number>;
  /** Frame size cap, bytes. Default 16 MiB. */
  maxFrameBytes?: number;
  /** Most message types queued at once; a message of one more type is refused. Default 256 (each holds a file open). */
  maxQueueTypes?: number;
  /**
   * Most of those one sender may hold: types whose queue one of its messages
   * started, not yet drained. A message of a further type from it is refused;
   * other senders' are not. Default 64.
   */
  maxQueueTypesPerSender?: number;
  /** Message type → directory where received files of that type are stored. Default none. */
  fileDirs?: Record<string, string>;
  /** A received file whose name is taken: `rename` (`NAME.1`...), `overwrite` or `refuse`. Default `rename`. */
  onExists?: OnExists;
  /** Most bytes one received file transfer (a file, or a directory's files together) may bring. Default 8 GiB. */
  maxFileBytes?: number;
  /** A file transfer with no chunk for this long is abandoned (staging removed, sender told), ms. Default 60000. */
  fileStallMs?: number;
  /**
   * Server: journal messages for a client name that never connected (a
   * typo would otherwise be refused with an error). Default `false`.
   */
  queueForUnknown?: boolean;
  /**
   * Server with `queueForUnknown`: most journals kept for client names that
   * never connected (each holds a file open); one sender may make at most
   * 64 of them. A message for one more is refused. Default 1024.
   */
  maxUnknownJournals?: number;
  /**
   * A link on which nothing was acknowledged for this long while messages
   * sent on it wait is closed; its unacknowledged messages are journaled
   * (settling their senders) and sent again on reconnect, ms. 0 = off.
   * Default 60000.
   */
  ackTimeoutMs?: number;
  /**
   * Server: a congested subscriber link that takes under 64 KiB in this long
   * is closed (its messages are journaled), ms. Default 5000.
   */
  stallMs?: number;
  /** Heartbeat interval, ms (a link silent for 3 intervals is dropped). Default 5000. */
  heartbeatMs?: number;
  /** Open the local API socket `DIR/broker.sock`. Default `true`. */
  localSocket?: boolean;
  /** `fdatasync` journal and queue appends. Default `true`. */
  fsync?: boolean;
  /** Reconnect backoff bounds, ms. Default 200 → 5000. */
  backoff?: { minMs: number; maxMs: number };
  /** Called when a peer's link comes up or goes down (identity: the peer's certificate). */
  onPeer?: (event: PeerEvent) => void;
  /** Handles `revoke` from the local API (server only): revoke the certificate of `name`. */
  revoke?: (name: string) => Promise<void>;
  /** Handles `reload` (local API, SIGHUP): re-read certificates and allow-list. Default: none. */
  reload?: () => Promise<Record<string, unknown>>;
  /** Registers the broker and network series here. Default: none. */
  daemonMetrics?: DaemonMetrics;
  logger?: Logger;
}

/** A peer link came up or went down. */
export interface PeerEvent {
  peer: string;
  event: "connected" | "disconnected";
  /** Remote address and port. */
  address: string;
  /** SHA-256 fingerprint of the peer's certificate (lowercase hex), when known. */
  fingerprint?: string;
  /** Why the link went down. */
  reason?: string;
}

/** Receives messages of the types it listens to. */
export interface Sink {
  /**
   * Takes one message; `false` means "behind": the link pauses until
   * `drained()`. A confirming sink calls `taken(true)` once its app has the
   * message, `taken(false)` when it went away without it.
   */
  deliver(
    h: MsgHeader,
    data: Uint8Array,
    binary: Uint8Array,
    payload: Uint8Array,
    taken: (ok: boolean) => void,
  ): boolean | void;
  /** Resolves when the sink can take more. */
  drained?(): Promise<void>;
  /** Whether it calls `taken` itself; otherwise a message is taken once `deliver` returns. */
  confirms?: boolean;
  /** Only messages with this tag (live ones only: queued messages go to unfiltered sinks). */
  tag?: string | undefined;
}
