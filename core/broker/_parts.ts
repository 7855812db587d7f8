import { type ConnectionHandler, listen, perAddressCap, type Server } from "../net/mod.ts";
import { NetMetrics } from "../metrics/mod.ts";
import type { Logger } from "../log/mod.ts";
import { registerBrokerMetrics } from "./metrics.ts";
import { ClientLoop } from "./_client_loop.ts";
import type { LogDamage } from "../storage/mod.ts";
import { ClientFilter } from "./client_filter.ts";
import { TypeQueues } from "./type_queues.ts";
import { FileReceiver } from "./files.ts";
import { Router } from "./router.ts";
import { PubSubHub, PubSubRule, Subscriptions } from "./pubsub.ts";
import { type ConnectorOptions, DEFAULT_MAX_FRAME, DEFAULT_PERSIST_MAX } from "./options.ts";
import { PendingReplies } from "./_pending.ts";
import { PeerTable } from "./_peer_table.ts";
import { MAX_HELD_BYTES, MAX_UNACKED_BYTES } from "./peer.ts";
import { Listeners } from "./_listeners.ts";
import { Inbound } from "./_inbound.ts";
import { PeerLinks } from "./_peer_links.ts";
import { ClusterBridge, clusterConnectorOptions } from "./cluster/bridge.ts";
import { ClusterTypeShare } from "./cluster/type_share.ts";
import { clusterReceiver } from "./cluster/receive.ts";

/** The parts a connector is made of, wired together. */
export interface ConnectorParts {
  maxFrameBytes: number;
  peers: PeerTable;
  pending: PendingReplies;
  queues: TypeQueues;
  files: FileReceiver;
  router: Router;
  inbound: Inbound;
  links: PeerLinks;
  /** Server only. */
  clientFilter: ClientFilter | undefined;
  /** Server with the `cluster` option only. */
  bridge: ClusterBridge | undefined;
}

/**
 * Creates the state directory and wires a connector's parts: the peer
 * table with its journals, the type queues, the file receiver, the router
 * (with the publish/subscribe hub on a server), the inbound services and
 * the link sessions. `onFatal` is told when the server refuses this client
 * for good.
 */
export function connectorParts(
  opts: ConnectorOptions,
  log: Logger,
  onFatal: (err: Error) => void,
): ConnectorParts {
  try {
    Deno.mkdirSync(opts.dir, { recursive: true, mode: 0o700 });
    Deno.mkdirSync(`${opts.dir}/journal`, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw new Error(
      `Cannot create the state directory "${opts.dir}": ${
        (err as Error).message
      } (pick a writable --dir)`,
      { cause: err },
    );
  }
  const fsync = opts.fsync ?? true;
  const maxFrameBytes = opts.maxFrameBytes ?? DEFAULT_MAX_FRAME;
  const logOpts = (what: string) => ({
    maxBytes: opts.persistMaxBytes ?? DEFAULT_PERSIST_MAX,
    fsync,
    onDamage: (d: LogDamage) =>
      log.warn(
        d.kind === "torn" ? `corrupt ${what} tail skipped` : `corrupt ${what} record skipped`,
        { file: d.file, offset: d.offset, bytes: d.bytes, kept: d.kept, reason: d.reason },
      ),
  });
  const queues = new TypeQueues(`${opts.dir}/queues`, {
    ...logOpts("queue"),
    ...(opts.maxQueueTypes !== undefined ? { maxTypes: opts.maxQueueTypes } : {}),
    ...(opts.maxQueueTypesPerSender !== undefined
      ? { maxTypesPerSender: opts.maxQueueTypesPerSender }
      : {}),
  });
  // the file receiver answers senders through the inbound services, made below
  const late: { inbound?: Inbound } = {};
  const files = new FileReceiver(opts.fileDirs ?? {}, {
    ...(opts.onExists !== undefined ? { onExists: opts.onExists } : {}),
    ...(opts.fileStallMs !== undefined ? { stallMs: opts.fileStallMs } : {}),
    ...(opts.maxFileBytes !== undefined ? { maxTransferBytes: opts.maxFileBytes } : {}),
    onAbandon: (t) => {
      log.warn("file transfer abandoned", { from: t.from, type: t.type, error: t.error });
      late.inbound?.answer(t.from, t.type, t.transfer, { ok: false, error: t.error });
    },
  });
  const peers = new PeerTable({
    name: opts.name,
    dir: `${opts.dir}/journal`,
    journal: {
      ...logOpts("journal"),
      priorities: opts.priorities,
      // Room for a few of the largest frames on their way and being stored.
      maxUnackedBytes: Math.max(MAX_UNACKED_BYTES, 8 * maxFrameBytes),
      maxHeldBytes: Math.max(MAX_HELD_BYTES, 8 * maxFrameBytes),
      ...(opts.ackTimeoutMs !== undefined ? { ackTimeoutMs: opts.ackTimeoutMs } : {}),
      onLost: (peer, id, err) =>
        log.warn("message not delivered", { peer, id, error: err.message }),
    },
    serverName: opts.client ? (opts.client.serverName ?? "server") : undefined,
    queueForUnknown: opts.queueForUnknown ?? false,
    ...(opts.maxUnknownJournals !== undefined
      ? { maxUnknownJournals: opts.maxUnknownJournals }
      : {}),
    onLegacyDamage: (file, error) =>
      log.warn("corrupt journal tail skipped", { file, reason: error }),
  });
  const cluster = opts.server?.cluster;
  const types: ClusterTypeShare | undefined = cluster
    ? new ClusterTypeShare({
      node: cluster,
      handOut: (h, data, binary, payload): Promise<void> =>
        listeners.handOut(h, data, binary, payload),
      log,
    })
    : undefined;
  const listeners = new Listeners(queues, log, types);
  const pending = new PendingReplies();
  const bridge: ClusterBridge | undefined = cluster && types
    ? new ClusterBridge({
      node: cluster,
      peer: (name) => peers.get(name),
      find: (name) => peers.find(name),
      here: () => peers.all().filter((p) => p.online).map((p) => p.name),
      fanout: (src, h, data, binary): Promise<void> => hub!.fanout(src, h, data, binary),
      receive: clusterReceiver(() => inbound, log),
      types,
      log,
      queueForUnknown: opts.queueForUnknown ?? false,
    })
    : undefined;
  const hub: PubSubHub | undefined = opts.server
    ? new PubSubHub({
      name: opts.name,
      rule: opts.server.pubsubRule ?? new PubSubRule(),
      subscriptions: new Subscriptions(`${opts.dir}/subscriptions.json`),
      route: (dst, sender) => peers.route(dst, sender),
      peer: (name) => peers.get(name),
      cluster: bridge,
      ...(opts.stallMs !== undefined ? { stallMs: opts.stallMs } : {}),
      onStalled: (s) =>
        log.warn("closed the link of a peer that does not read", {
          peer: s.peer,
          unacked: s.unacked,
          unsentBytes: s.unsentBytes,
          ms: s.ms,
        }),
    })
    : undefined;
  const router = new Router({
    name: opts.name,
    maxFrameBytes,
    peers,
    listeners,
    pending,
    hub,
    onLost: (id, err) => log.warn("published message not stored", { id, error: err.message }),
    elsewhere: bridge && ((h, data, binary) => bridge.elsewhere(h, data, binary)),
  });
  const inbound = late.inbound = new Inbound({
    log,
    listeners,
    pending,
    files,
    seenDir: `${opts.dir}/seen`,
    fsync,
    send: (dst, type, data, options) => router.send(dst, type, data, options),
  });
  const clientFilter = opts.server ? new ClientFilter(opts.server.clientFilter) : undefined;
  const links = new PeerLinks({
    name: opts.name,
    connector: bridge ? clusterConnectorOptions(opts, bridge) : opts,
    ...(clientFilter ? { clientFilter } : {}),
    log,
    maxFrameBytes,
    peers,
    hub,
    inbound,
    onFatal,
  });
  return {
    maxFrameBytes,
    peers,
    pending,
    queues,
    files,
    router,
    inbound,
    links,
    clientFilter,
    bridge,
  };
}

/**
 * Starts a connector's network side: the mTLS listener of a server
 * connector, or the reconnecting link of a client connector (stopped by
 * `signal`), with the daemon's connection and broker metrics when asked.
 */
export async function startNetwork(
  opts: ConnectorOptions,
  parts: ConnectorParts,
  log: Logger,
  signal: AbortSignal,
): Promise<{ server?: Server; client?: ClientLoop }> {
  const { peers, links } = parts;
  const dm = opts.daemonMetrics;
  const net = dm
    ? new NetMetrics(dm, {
      framesIn: () => peers.all().reduce((n, p) => n + p.stats.msgsIn, 0),
      framesOut: () => peers.all().reduce((n, p) => n + p.stats.msgsOut, 0),
    })
    : undefined;
  if (dm) registerBrokerMetrics(dm, () => peers.all(), parts.queues);
  if (opts.server) {
    const serve: ConnectionHandler = (conn, signal) => links.serve(conn, conn.peer, signal);
    const server = await listen({
      host: opts.server.host ?? "0.0.0.0",
      port: opts.server.port,
      tls: opts.server.tls,
      requireClientCert: !opts.server.trustAnyClient,
      ...perAddressCap(opts.server.maxPerAddress, opts.server.ipv6Prefix),
      logger: log,
      graceMs: 2000,
      ...(net ? { onRefused: net.onRefused } : {}),
    }, net ? net.wrap(serve) : serve);
    return { server };
  }
  const client = opts.client!;
  peers.get(client.serverName ?? "server");
  return {
    client: new ClientLoop({
      name: opts.name,
      client,
      backoff: opts.backoff,
      log,
      peers,
      links,
      signal,
    }),
  };
}
