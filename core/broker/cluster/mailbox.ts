import { AckPolicy, DeliverPolicy, type JetStreamClient, type JetStreamManager } from "nats";
import { type ClusterNames, token } from "./names.ts";
import {
  consumeInOrder,
  ensureStream,
  type MailboxReader,
  RetentionPolicy,
  store,
} from "./_jetstream.ts";

export type { MailboxReader };

/** Options for {@linkcode ClusterMailboxes.open}. */
export interface ClusterMailboxesOptions {
  js: JetStreamClient;
  jsm: JetStreamManager;
  names: ClusterNames;
  /** Copies of each message across the NATS cluster's nodes (1, 3 or 5). Default 1. */
  replicas?: number;
  /** Cap on the bytes the mailbox stream holds; a send beyond it is refused. Default: no cap. */
  maxBytes?: number;
  /** How long a delivered message may stay unacknowledged before NATS offers it again, ms. Default 10000. */
  ackWaitMs?: number;
}

/** One message taken from a client's mailbox. */
export interface MailboxDelivery {
  /** The message id it was sent with. */
  id: string;
  /** The bytes it was sent with. */
  payload: Uint8Array;
  /** Its position in the mailbox stream (increases in send order). */
  seq: number;
}

/** Options for {@linkcode ClusterMailboxes.read}. */
export interface MailboxReadOptions {
  /** Messages handed to the handler before the oldest one's handling has finished. Default 1. */
  window?: number;
}

const ID_HEADER = "Sockkit-Id";

/**
 * Every message for a client of the cluster, in one JetStream work-queue
 * stream with a subject per client: a server sends a message for a client it
 * does not hold by storing it there (acknowledged once JetStream stored it,
 * stored once per message id), and the server holding the client reads the
 * client's subject in order, removing each message once the client has it.
 * Messages for an away client simply wait, on every NATS node the stream is
 * replicated to, for whichever server the client connects to next.
 */
export class ClusterMailboxes {
  readonly #o: ClusterMailboxesOptions;

  private constructor(o: ClusterMailboxesOptions) {
    this.#o = o;
  }

  /** Creates the mailbox stream if it does not exist yet. */
  static async open(opts: ClusterMailboxesOptions): Promise<ClusterMailboxes> {
    await ensureStream(opts.jsm, {
      name: opts.names.mailboxStream,
      subjects: [opts.names.mailboxWildcard],
      retention: RetentionPolicy.Workqueue,
      replicas: opts.replicas ?? 1,
      ...(opts.maxBytes !== undefined ? { maxBytes: opts.maxBytes } : {}),
    });
    return new ClusterMailboxes(opts);
  }

  /**
   * Stores a message for client `dst`; resolves once JetStream has it (on
   * every replica). A second send of the same `id` to the same client within
   * two minutes is not stored again.
   */
  async send(dst: string, id: string, payload: Uint8Array): Promise<void> {
    await store(this.#o.js, this.#o.names.mailboxSubject(dst), payload, {
      msgID: `${token(dst)}:${id}`,
      header: [ID_HEADER, id],
      what: `Cannot store message "${id}" for client connector "${dst}" in the cluster`,
    });
  }

  /** Messages waiting for client `client`. */
  async waiting(client: string): Promise<number> {
    const subject = this.#o.names.mailboxSubject(client);
    const info = await this.#o.jsm.streams.info(this.#o.names.mailboxStream, {
      subjects_filter: subject,
    });
    return info.state.subjects?.[subject] ?? 0;
  }

  /**
   * Reads client `client`'s mailbox from its oldest message, in order
   * (`options.window` at a time): `handler` gets each message and the
   * message leaves the mailbox once the handler's promise resolves for it
   * and every earlier one. A rejection stops the reading and
   * leaves that message first in line. Only the server holding the client
   * (see `ClusterPresence.claim`) should read its mailbox.
   */
  async read(
    client: string,
    handler: (m: MailboxDelivery) => Promise<void> | void,
    options: MailboxReadOptions = {},
  ): Promise<MailboxReader> {
    const { jsm, js, names } = this.#o;
    const durable = token(client);
    // A reader left by a server that died may still hold messages it never
    // acknowledged: start a fresh consumer so they come first, in order.
    try {
      await jsm.consumers.delete(names.mailboxStream, durable);
    } catch (err) {
      if (!/consumer not found/i.test(String(err))) throw err;
    }
    const window = Math.max(1, options.window ?? 1);
    await jsm.consumers.add(names.mailboxStream, {
      durable_name: durable,
      filter_subject: names.mailboxSubject(client),
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      ack_wait: (this.#o.ackWaitMs ?? 10_000) * 1_000_000,
    });
    const consumer = await js.consumers.get(names.mailboxStream, durable);
    return consumeInOrder(
      consumer,
      window,
      (m) => handler({ id: m.headers?.get(ID_HEADER) ?? "", payload: m.data, seq: m.seq }),
    );
  }
}
