import { AckPolicy, DeliverPolicy, type JetStreamClient, type JetStreamManager } from "nats";
import { type ClusterNames, token, untoken } from "./names.ts";
import {
  consumeInOrder,
  ensureStream,
  type MailboxReader,
  RetentionPolicy,
  store,
} from "./_jetstream.ts";

const ORIGIN_HEADER = "Sockkit-Server";

/** A published message that came from another server of the cluster. */
export interface ClusterPublication {
  /** Its message type. */
  type: string;
  /** The server it was published on. */
  server: string;
  /** The bytes it was published with. */
  payload: Uint8Array;
}

/** Options for {@linkcode ClusterPubSub.open}. */
export interface ClusterPubSubOptions {
  js: JetStreamClient;
  jsm: JetStreamManager;
  names: ClusterNames;
  /** This server connector's name. */
  server: string;
  /** Copies across the NATS cluster's nodes. Default 1. */
  replicas?: number;
  /** How long a publication waits for a server that is down, ms. Default 7 days. */
  maxAgeMs?: number;
}

/**
 * Pub/sub across the servers of a cluster through one JetStream stream
 * (a subject per message type) that every server reads with its own durable
 * consumer: each server hands what its clients publish to the others (the
 * publisher's acknowledgement includes JetStream storing it) and stores
 * what the others publish for its own subscribers, in order. A server that
 * is down gets what was published meanwhile when it is back (for up to
 * `maxAgeMs`).
 */
export class ClusterPubSub implements AsyncDisposable {
  readonly #o: ClusterPubSubOptions;
  #reader: MailboxReader | undefined;

  private constructor(o: ClusterPubSubOptions) {
    this.#o = o;
  }

  /** Creates the publication stream if it does not exist yet. */
  static async open(opts: ClusterPubSubOptions): Promise<ClusterPubSub> {
    await ensureStream(opts.jsm, {
      name: opts.names.pubStream,
      subjects: [opts.names.pubWildcard],
      retention: RetentionPolicy.Interest,
      replicas: opts.replicas ?? 1,
      maxAgeMs: opts.maxAgeMs ?? 7 * 86_400_000,
    });
    return new ClusterPubSub(opts);
  }

  /**
   * Hands message `id` of type `type` published on this server to the other
   * servers; resolves once JetStream stored it.
   */
  async publish(type: string, id: string, payload: Uint8Array): Promise<void> {
    await store(this.#o.js, this.#o.names.pubSubject(type), payload, {
      msgID: `${token(this.#o.server)}:${id}`,
      header: [ORIGIN_HEADER, this.#o.server],
      what: `Cannot hand publication "${id}" to the other servers of the cluster`,
    });
  }

  /**
   * Calls `handler` with each message published on another server, in
   * order, from where this server left off (the first time: from now); a
   * message counts as taken once the handler's promise resolves. One
   * handler: a second call replaces it.
   */
  async receive(handler: (p: ClusterPublication) => Promise<void> | void): Promise<void> {
    await this.close();
    const { js, jsm, names, server } = this.#o;
    const durable = token(server);
    try {
      await jsm.consumers.info(names.pubStream, durable);
    } catch (err) {
      if (!/consumer not found/i.test(String(err))) throw err;
      await jsm.consumers.add(names.pubStream, {
        durable_name: durable,
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.New,
        ack_wait: 10_000_000_000,
      });
    }
    const consumer = await js.consumers.get(names.pubStream, durable);
    const prefix = names.pubSubject("");
    this.#reader = await consumeInOrder(consumer, 64, (m) => {
      const origin = m.headers?.get(ORIGIN_HEADER) ?? "";
      if (origin === server) return;
      return handler({
        type: untoken(m.subject.slice(prefix.length)),
        server: origin,
        payload: m.data,
      });
    });
  }

  /** Stops receiving. Idempotent. */
  async close(): Promise<void> {
    const r = this.#reader;
    this.#reader = undefined;
    await r?.stop();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
