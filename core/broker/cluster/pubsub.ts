import { DeliverPolicy, type JetStreamClient, type JetStreamManager } from "nats";
import { type ClusterNames, token, untoken } from "./names.ts";
import { type MailboxReader, readDurable, READER_WINDOW, store } from "./_jetstream.ts";

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
}

/**
 * Pub/sub across the servers of a cluster through one JetStream stream
 * (a subject per message type) that every server reads with its own durable
 * consumer: each server hands what its clients publish to the others (the
 * publisher's acknowledgement includes JetStream storing it) and stores
 * what the others publish for its own subscribers, in order. A server that
 * is down gets what was published meanwhile when it is back (for as long as
 * the stream keeps it, see `ClusterNode`).
 */
export class ClusterPubSub implements AsyncDisposable {
  readonly #o: ClusterPubSubOptions;
  #reader: MailboxReader | undefined;
  #handler: ((p: ClusterPublication) => Promise<void> | void) | undefined;
  #resuming = false;

  constructor(opts: ClusterPubSubOptions) {
    this.#o = opts;
  }

  /**
   * Hands message `id` of type `type` published on this server to the other
   * servers; resolves once JetStream stored it.
   */
  async publish(type: string, id: string, payload: Uint8Array): Promise<void> {
    await store(this.#o.js, this.#o.names.pubSubject(type), payload, {
      msgID: `${token(this.#o.server)}:${id}`,
      headers: [[ORIGIN_HEADER, this.#o.server]],
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
    this.#handler = handler;
    const { js, jsm, names, server } = this.#o;
    const prefix = names.pubSubject("");
    const spec = {
      stream: names.pubStream,
      durable: token(server),
      window: READER_WINDOW,
      start: "keep",
      config: { deliver_policy: DeliverPolicy.New },
    } as const;
    const reader = this.#reader = await readDurable(js, jsm, spec, (m) => {
      const origin = m.headers?.get(ORIGIN_HEADER) ?? "";
      if (origin === server) return;
      return handler({
        type: untoken(m.subject.slice(prefix.length)),
        server: origin,
        payload: m.data,
      });
    });
    reader.done.finally(() => {
      if (this.#reader === reader) this.#reader = undefined; // resume() starts it again
    }).catch(() => {});
  }

  /** Starts receiving again with the last handler if the reading stopped (a NATS outage). */
  async resume(): Promise<void> {
    const handler = this.#handler;
    if (!handler || this.#resuming) return;
    this.#resuming = true;
    try {
      if (!this.#reader) await this.receive(handler);
    } catch {
      // NATS still away: the next call tries again.
    } finally {
      this.#resuming = false;
    }
  }

  /** Stops receiving. Idempotent. */
  async close(): Promise<void> {
    this.#handler = undefined;
    const r = this.#reader;
    this.#reader = undefined;
    await r?.stop();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
