import { connect, type NatsConnection, type Status } from "nats";
import type { Logger } from "../../log/mod.ts";
import { BrokerError } from "../errors.ts";
import { clusterNames } from "./names.ts";
import { ClusterPresence } from "./presence.ts";
import { ClusterQueues } from "./queues.ts";
import { ClusterPubSub } from "./pubsub.ts";
import type { Claims } from "./claims.ts";
import { ensureStream, RetentionPolicy, type StreamSpec } from "./_jetstream.ts";
import type { MirrorWatchOptions } from "./_kv_mirror.ts";
import { stopStatus } from "./_status.ts";
import { errorText } from "../../log/mod.ts";

/**
 * Options for {@linkcode ClusterNode.open}. `log` and `stallMs` are those of
 * the local copies of the client list and the heartbeats (see
 * {@linkcode MirrorWatchOptions}; they follow this node's NATS connection);
 * `log` also gets the loss of that connection, at warn, and its return, at
 * info, once each per outage, from the moment it is made (an outage while
 * the node joins is logged too). Default: nowhere, 5000 ms.
 */
export interface ClusterNodeOptions extends Omit<MirrorWatchOptions, "status"> {
  /** nats-server addresses (`nats://HOST:PORT`), tried in order; reconnects to any of them. */
  servers: string[];
  /** The cluster's name: servers with the same name form one broker. */
  cluster: string;
  /** This server connector's name (unique in the cluster). */
  server: string;
  /** Copies of each stored message and presence entry across NATS nodes (1, 3 or 5). Default 1. */
  replicas?: number;
  /** How often this server renews its heartbeat, ms; it counts as gone after three missed. Default 1000. */
  beatMs?: number;
  /**
   * Cap on the bytes of the mailbox stream (every client's messages waiting
   * in the cluster) and of the type queue stream, each; a full one refuses
   * new messages. Applied to existing streams too. Default: no cap.
   */
  maxBytes?: number;
  /**
   * How long JetStream waits for the acknowledgement of a mailbox or type
   * queue message handed to this server before offering it again, ms (tests
   * shorten it). Default 10000.
   */
  ackWaitMs?: number;
}

/** How long a publication waits for a server that is down: 7 days. */
const PUB_MAX_AGE_MS = 7 * 86_400_000;

/** The connection's status events read to log its losses and returns, and that loop. */
interface Following {
  /** Stopped on close (the loop then ends); `undefined` without a log. */
  status: AsyncIterable<Status> | undefined;
  /** Ends once `status` is stopped. */
  done: Promise<void>;
}

/**
 * Logs each loss of NATS connection `nc` at warn and its return at info:
 * the one place that does, as the node owns the connection (the local
 * copies and the bridge follow it without logging it again). Started as
 * soon as the connection is made, so an outage while the node joins is
 * logged, its loss before its return.
 */
function follow(nc: NatsConnection, log: Logger | undefined): Following {
  if (!log) return { status: undefined, done: Promise.resolve() };
  const status = nc.status();
  const done = (async () => {
    for await (const s of status) {
      if (s.type === "disconnect") {
        log.warn(
          "cluster NATS connection lost: client links here stay up; sends to clients on other servers wait up to 5 s for it, then fail",
          { nats: String(s.data) },
        );
      } else if (s.type === "reconnect") {
        log.info("cluster NATS connection back", { nats: String(s.data) });
      }
    }
  })();
  return { status, done };
}

/**
 * One server connector's membership of a cluster: its NATS connection and
 * what it shares with the other servers through JetStream — who is
 * connected where ({@linkcode ClusterPresence}), each client's messages
 * (`mailboxes`), the server connectors' per-type receive queues
 * (`typeQueues`, each read by the server holding it in `typeHolders`) and
 * publications ({@linkcode ClusterPubSub}).
 */
export class ClusterNode implements AsyncDisposable {
  readonly server: string;
  readonly cluster: string;
  readonly nc: NatsConnection;
  readonly presence: ClusterPresence;
  /** Every client's mailbox: forwarded messages and the away backlog. */
  readonly mailboxes: ClusterQueues;
  /** The per-type receive queues of the server connectors. */
  readonly typeQueues: ClusterQueues;
  /** Which server's listener takes each type's queue. */
  readonly typeHolders: Claims;
  readonly pubsub: ClusterPubSub;
  /** Logs the NATS connection's losses and returns (with `opts.log`), since it was made. */
  readonly #following: Following;
  #closing: Promise<void> | undefined;

  private constructor(
    o: ClusterNodeOptions,
    nc: NatsConnection,
    parts: Pick<ClusterNode, "presence" | "mailboxes" | "typeQueues" | "typeHolders" | "pubsub">,
    following: Following,
  ) {
    this.server = o.server;
    this.cluster = o.cluster;
    this.nc = nc;
    this.presence = parts.presence;
    this.mailboxes = parts.mailboxes;
    this.typeQueues = parts.typeQueues;
    this.typeHolders = parts.typeHolders;
    this.pubsub = parts.pubsub;
    this.#following = following;
  }

  /** Connects to NATS and joins the cluster (creating its buckets and stream on first use). */
  static async open(opts: ClusterNodeOptions): Promise<ClusterNode> {
    const names = clusterNames(opts.cluster);
    if (opts.servers.length === 0) {
      throw new TypeError("Cluster needs at least one nats-server address");
    }
    let nc: NatsConnection;
    try {
      nc = await connect({
        servers: opts.servers,
        name: `sockkit ${opts.cluster}/${opts.server}`,
        maxReconnectAttempts: -1,
        timeout: 5000,
      });
    } catch (err) {
      throw new BrokerError(
        `Cannot join cluster "${opts.cluster}": no nats-server reachable at ${
          opts.servers.join(", ")
        }: ${errorText(err)} (start nats-server -js, or fix --cluster)`,
        { cause: err },
      );
    }
    // Before the buckets: an outage while joining is logged, its loss before its return.
    const following = follow(nc, opts.log);
    /** Open (heartbeating) once made: closed again when a later step fails. */
    let presence: ClusterPresence | undefined;
    try {
      const js = nc.jetstream();
      const jsm = await nc.jetstreamManager();
      const replicas = opts.replicas ?? 1;
      const beatMs = opts.beatMs ?? 1000;
      const clients = await js.views.kv(names.presenceBucket, { history: 1, replicas });
      const servers = await js.views.kv(names.serversBucket, {
        history: 1,
        replicas,
        ttl: beatMs * 3,
      });
      const holders = await js.views.kv(names.typeHoldersBucket, { history: 1, replicas });
      presence = await ClusterPresence.open({
        server: opts.server,
        clients,
        servers,
        beatMs,
        mirror: { status: () => nc.status(), log: opts.log, stallMs: opts.stallMs },
      });
      const queue = (name: string, wildcard: string): StreamSpec => ({
        name,
        subjects: [wildcard],
        retention: RetentionPolicy.Workqueue,
        replicas,
        ...(opts.maxBytes !== undefined ? { maxBytes: opts.maxBytes } : {}),
      });
      for (
        const spec of [
          queue(names.mailboxStream, names.mailboxWildcard),
          queue(names.typeStream, names.typeWildcard),
          {
            name: names.pubStream,
            subjects: [names.pubWildcard],
            retention: RetentionPolicy.Interest,
            replicas,
            maxAgeMs: PUB_MAX_AGE_MS,
          },
        ]
      ) await ensureStream(jsm, spec);
      const server = opts.server;
      const queueOptions = {
        ...(opts.ackWaitMs !== undefined ? { ackWaitMs: opts.ackWaitMs } : {}),
        ...(opts.maxBytes !== undefined ? { maxBytes: opts.maxBytes } : {}),
        maxPayload: () => nc.info?.max_payload,
      };
      return new ClusterNode(opts, nc, {
        presence,
        mailboxes: new ClusterQueues({
          js,
          jsm,
          server,
          ...queueOptions,
          stream: {
            name: names.mailboxStream,
            subject: names.mailboxSubject,
            what: "client connector",
          },
        }),
        typeQueues: new ClusterQueues({
          js,
          jsm,
          server,
          ...queueOptions,
          stream: { name: names.typeStream, subject: names.typeSubject, what: "message type" },
        }),
        typeHolders: presence.registry(
          holders,
          (type, holder) =>
            new BrokerError(
              `The queue of message type "${type}" is taken by a listener on server "${holder}"`,
            ),
        ),
        pubsub: new ClusterPubSub({ js, jsm, names, server }),
      }, following);
    } catch (err) {
      stopStatus(following.status); // leaving is no outage
      await presence?.close();
      await nc.close();
      await following.done;
      if (err instanceof BrokerError) throw err;
      throw new BrokerError(
        `Cannot join cluster "${opts.cluster}" through ${opts.servers.join(", ")}: ${
          errorText(err)
        } (nats-server must run with JetStream enabled: nats-server -js)`,
        { cause: err },
      );
    }
  }

  /** Leaves the cluster: stops the heartbeat and the registries' watches, then drains and closes the NATS connection. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      stopStatus(this.#following.status); // first: leaving is no outage
      await this.pubsub.close();
      await this.typeHolders.close();
      await this.presence.close();
      if (!this.nc.isClosed()) await this.nc.drain().catch(() => this.nc.close());
      await this.#following.done;
    })();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
