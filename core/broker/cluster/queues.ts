import { DeliverPolicy, type JetStreamClient, type JetStreamManager, type MsgRequest } from "nats";
import { token, untoken } from "./names.ts";
import {
  type InOrderOptions,
  type MailboxReader,
  readDurable,
  READER_WINDOW,
  store,
} from "./_jetstream.ts";

export type { MailboxReader };

/** One work-queue stream with a subject per key (a client's mailbox, a message type's queue). */
export interface QueueStream {
  /** The stream's name. */
  name: string;
  /** The subject of key `key`'s messages. */
  subject(key: string): string;
  /** What a key is, for error messages: `client connector`, `message type`. */
  what: string;
}

/** Options for {@linkcode ClusterQueues}. */
export interface ClusterQueuesOptions {
  js: JetStreamClient;
  jsm: JetStreamManager;
  stream: QueueStream;
  /** The name of the server storing (the `Sockkit-Server` header of what it stores). */
  server: string;
  /** The stream's byte cap (`--persist-max`), for the error of a full stream. Default: none. */
  maxBytes?: number;
  /** The largest message the nats-server takes now (its `max_payload`). Default: not checked here. */
  maxPayload?: () => number | undefined;
  /** How long JetStream waits for a handed-out message's acknowledgement before offering it again, ms. Default 10000. */
  ackWaitMs?: number;
}

/** One message taken from a queue. */
export interface MailboxDelivery {
  /** The message id it was sent with. */
  id: string;
  /** The bytes it was sent with. */
  payload: Uint8Array;
  /** Its position in the stream (increases in send order). */
  seq: number;
  /** The server that stored it. */
  server: string;
  /** Messages after it in the queue when it was handed out. */
  pending: number;
}

/** What waits under one key (see {@linkcode ClusterQueues.report}). */
export interface WaitingKey {
  /** The client connector's name or the message type. */
  key: string;
  /** Messages waiting. */
  messages: number;
  /** When the oldest of them was stored (ms since the epoch). */
  oldest: number;
}

/** Keys {@linkcode ClusterQueues.report} lists at most (the most waiting first). */
export const REPORT_MAX_KEYS = 1000;

/** Options for {@linkcode ClusterQueues.read}. */
export interface MailboxReadOptions extends InOrderOptions {
  /** Messages handed to the handler (and held unacknowledged) at once. Default 64. */
  window?: number;
  /**
   * Told, before reading, the stream position of the last message JetStream
   * delivered to the key's previous reader (0: none): that reader may have
   * handed on the messages after what it recorded up to there.
   */
  replaced?: (deliveredTo: number) => Promise<void> | void;
}

const ID_HEADER = "Sockkit-Id";
const SERVER_HEADER = "Sockkit-Server";

/**
 * Queues of the cluster in one JetStream work-queue stream, a subject per
 * key: the mailboxes of clients and the per-type receive queues. A server
 * stores a message under a key (acknowledged once JetStream stored it,
 * stored once per message id), and the one server holding the key reads it
 * in order, removing each message once it is handed on. What waits, waits
 * on every NATS node the stream is replicated to, for whichever server holds
 * the key next.
 */
export class ClusterQueues {
  readonly #o: ClusterQueuesOptions;
  /** What a full stream's refusal says (the same for every message). */
  readonly #full: string;

  constructor(opts: ClusterQueuesOptions) {
    this.#o = opts;
    const { stream, maxBytes } = opts;
    this.#full = `the cluster's stream "${stream.name}" is full${
      maxBytes !== undefined ? ` (its cap, --persist-max, is ${maxBytes} bytes)` : ""
    }: what waits there must be delivered first (bring the ${stream.what}'s reader back, or raise --persist-max and restart a server)`;
  }

  /**
   * Stores a message under `key`; resolves once JetStream has it (on a
   * majority of its replicas) with its stream position. A second send of the same `id` under
   * the same key within two minutes is not stored again (the first one's
   * position is returned).
   */
  async send(key: string, id: string, payload: Uint8Array): Promise<number> {
    const { stream, server } = this.#o;
    const maxPayload = this.#o.maxPayload?.();
    const ack = await store(this.#o.js, stream.subject(key), payload, {
      msgID: `${token(key)}:${id}`,
      headers: [[ID_HEADER, id], [SERVER_HEADER, server]],
      what: `Cannot store message "${id}" for ${stream.what} "${key}" in the cluster`,
      full: this.#full,
      ...(maxPayload !== undefined ? { maxPayload } : {}),
    });
    return ack.seq;
  }

  /** Messages waiting under `key`. */
  async waiting(key: string): Promise<number> {
    const subject = this.#o.stream.subject(key);
    const info = await this.#o.jsm.streams.info(this.#o.stream.name, {
      subjects_filter: subject,
    });
    return info.state.subjects?.[subject] ?? 0;
  }

  /**
   * Every key with messages waiting (the {@linkcode REPORT_MAX_KEYS} with the
   * most, by key), with how many and when the oldest was stored.
   */
  async report(): Promise<WaitingKey[]> {
    const { jsm, stream } = this.#o;
    const prefix = stream.subject("");
    const info = await jsm.streams.info(stream.name, { subjects_filter: `${prefix}*` });
    const keys = Object.entries(info.state.subjects ?? {})
      .filter(([, n]) => n > 0)
      .sort((a, b) => b[1] - a[1])
      .slice(0, REPORT_MAX_KEYS);
    const rows = await Promise.all(keys.map(async ([subject, messages]) => {
      // the first message on the subject is the oldest waiting (a work queue keeps no others)
      const first = await jsm.streams.getMessage(
        stream.name,
        { seq: 0, next_by_subj: subject } as unknown as MsgRequest,
      ).then((m) => m.time.getTime(), () => Date.now());
      return { key: untoken(subject.slice(prefix.length)), messages, oldest: first };
    }));
    return rows.sort((a, b) => a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
  }

  /**
   * Reads `key`'s messages from the oldest, in order (`options.window` at a
   * time): `handler` gets each message and the message leaves the queue
   * once the handler's promise resolves for it and every earlier one. A
   * rejection stops the reading and leaves that message first in line. A
   * message JetStream offers again after it was handed on is not handed
   * again, nor one at or below `options.after`; `options.record` is told how
   * far the handler got before each acknowledgement. Only the server
   * holding the key (see `Claims.claim`) should read it.
   */
  read(
    key: string,
    handler: (m: MailboxDelivery) => Promise<void> | void,
    options: MailboxReadOptions = {},
  ): Promise<MailboxReader> {
    const { jsm, js, stream } = this.#o;
    // A reader left by a server that died may still hold messages it never
    // acknowledged: a fresh consumer hands them out first, in order.
    const spec = {
      stream: stream.name,
      durable: token(key),
      window: Math.max(1, options.window ?? READER_WINDOW),
      start: "fresh",
      config: { filter_subject: stream.subject(key), deliver_policy: DeliverPolicy.All },
      ...(this.#o.ackWaitMs !== undefined ? { ackWaitMs: this.#o.ackWaitMs } : {}),
      ...(options.replaced ? { replaced: options.replaced } : {}),
      handed: {
        ...(options.after !== undefined ? { after: options.after } : {}),
        ...(options.record ? { record: options.record } : {}),
      },
    } as const;
    return readDurable(js, jsm, spec, (m) =>
      handler({
        id: m.headers?.get(ID_HEADER) ?? "",
        payload: m.data,
        seq: m.seq,
        server: m.headers?.get(SERVER_HEADER) ?? "",
        pending: m.info.pending,
      }));
  }
}
