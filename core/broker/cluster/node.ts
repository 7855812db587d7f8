import { connect, type NatsConnection } from "nats";
import { BrokerError } from "../errors.ts";
import { clusterNames } from "./names.ts";
import { ClusterPresence } from "./presence.ts";
import { ClusterMailboxes } from "./mailbox.ts";
import { ClusterPubSub } from "./pubsub.ts";

/** Options for {@linkcode ClusterNode.open}. */
export interface ClusterNodeOptions {
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
  /** Cap on the bytes of messages stored for away clients. Default: no cap. */
  maxBytes?: number;
}

/**
 * One server connector's membership of a cluster: its NATS connection and
 * the three things it shares with the other servers through JetStream and
 * NATS — who is connected where ({@linkcode ClusterPresence}), each client's
 * messages ({@linkcode ClusterMailboxes}) and publications
 * ({@linkcode ClusterPubSub}).
 */
export class ClusterNode implements AsyncDisposable {
  readonly server: string;
  readonly cluster: string;
  readonly nc: NatsConnection;
  readonly presence: ClusterPresence;
  readonly mailboxes: ClusterMailboxes;
  readonly pubsub: ClusterPubSub;
  #closing: Promise<void> | undefined;

  private constructor(
    o: ClusterNodeOptions,
    nc: NatsConnection,
    parts: { presence: ClusterPresence; mailboxes: ClusterMailboxes; pubsub: ClusterPubSub },
  ) {
    this.server = o.server;
    this.cluster = o.cluster;
    this.nc = nc;
    this.presence = parts.presence;
    this.mailboxes = parts.mailboxes;
    this.pubsub = parts.pubsub;
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
        }: ${
          err instanceof Error ? err.message : String(err)
        } (start nats-server -js, or fix --cluster)`,
        { cause: err },
      );
    }
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
      const presence = await ClusterPresence.open({
        server: opts.server,
        clients,
        servers,
        beatMs,
      });
      const mailboxes = await ClusterMailboxes.open({
        js,
        jsm,
        names,
        replicas,
        ...(opts.maxBytes !== undefined ? { maxBytes: opts.maxBytes } : {}),
      });
      const pubsub = await ClusterPubSub.open({
        js,
        jsm,
        names,
        server: opts.server,
        replicas,
      });
      return new ClusterNode(opts, nc, { presence, mailboxes, pubsub });
    } catch (err) {
      await nc.close();
      if (err instanceof BrokerError) throw err;
      throw new BrokerError(
        `Cannot join cluster "${opts.cluster}" through ${opts.servers.join(", ")}: ${
          err instanceof Error ? err.message : String(err)
        } (nats-server must run with JetStream enabled: nats-server -js)`,
        { cause: err },
      );
    }
  }

  /** Leaves the cluster: stops the heartbeat, then drains and closes the NATS connection. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await this.pubsub.close();
      await this.presence.close();
      if (!this.nc.isClosed()) await this.nc.drain().catch(() => this.nc.close());
    })();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
