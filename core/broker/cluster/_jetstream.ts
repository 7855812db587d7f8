import { BrokerError } from "../errors.ts";
import {
  AckPolicy,
  type Consumer,
  type ConsumerConfig,
  DiscardPolicy,
  headers,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
  type PubAck,
  RetentionPolicy,
  StorageType,
} from "nats";
import { errorText } from "../../log/mod.ts";

/** What {@linkcode ensureStream} creates: a file stream with a two-minute duplicate window. */
export interface StreamSpec {
  name: string;
  subjects: string[];
  retention: RetentionPolicy;
  replicas: number;
  /** Oldest message kept, ms. Default: no limit. */
  maxAgeMs?: number;
  /** Bytes kept at most; a full stream refuses new messages (never drops old ones). Default: no limit. */
  maxBytes?: number;
}

/**
 * Creates stream `spec.name` unless it exists; an existing one keeps its
 * settings but takes `spec.maxBytes` (the servers' cap) when that differs.
 */
export async function ensureStream(jsm: JetStreamManager, spec: StreamSpec): Promise<void> {
  const maxBytes = spec.maxBytes ?? -1;
  try {
    const { config } = await jsm.streams.info(spec.name);
    if (config.max_bytes !== maxBytes || config.discard !== DiscardPolicy.New) {
      await jsm.streams.update(spec.name, {
        ...config,
        max_bytes: maxBytes,
        discard: DiscardPolicy.New,
      });
    }
    return;
  } catch (err) {
    if (!/stream not found/i.test(String(err))) throw err;
  }
  await jsm.streams.add({
    name: spec.name,
    subjects: spec.subjects,
    retention: spec.retention,
    storage: StorageType.File,
    num_replicas: spec.replicas,
    max_age: (spec.maxAgeMs ?? 0) * 1_000_000,
    max_bytes: maxBytes,
    discard: DiscardPolicy.New,
    duplicate_window: 120_000_000_000,
  });
}

export { RetentionPolicy };

/** Messages one reader holds at once unless told otherwise (see {@linkcode consumeInOrder}). */
export const READER_WINDOW = 64;

/**
 * The configuration of a durable consumer read with
 * {@linkcode consumeInOrder}: explicit acks, at most `window` unacknowledged
 * (JetStream hands out no more until some are acknowledged).
 */
function readerConfig(
  durable: string,
  window: number,
  ackWaitMs: number,
  more: Partial<ConsumerConfig> = {},
): Partial<ConsumerConfig> {
  return {
    durable_name: durable,
    ack_policy: AckPolicy.Explicit,
    ack_wait: ackWaitMs * 1_000_000,
    max_ack_pending: window,
    ...more,
  };
}

/** How long JetStream waits for a handed-out message's acknowledgement before it offers it again, ms. */
export const ACK_WAIT_MS = 10_000;

/** Bytes kept free of a NATS message for its headers (message id, sender, server). */
const HEADROOM_BYTES = 1024;

/** How long a store waits for JetStream's acknowledgement (through a NATS outage) before it fails. */
export const STORE_TIMEOUT_MS = 5000;

/** The durable consumer {@linkcode readDurable} reads. */
export interface DurableSpec {
  stream: string;
  durable: string;
  /** Messages held unacknowledged at once. */
  window: number;
  /**
   * `fresh`: replace an existing consumer (what it handed out and nobody
   * acknowledged comes first again, in order); `keep`: go on where it is.
   */
  start: "fresh" | "keep";
  /** Filter and start position of a consumer made here. */
  config: Partial<ConsumerConfig>;
  /** How long JetStream waits for an acknowledgement before offering a message again, ms. Default {@linkcode ACK_WAIT_MS}. */
  ackWaitMs?: number;
  /** See {@linkcode InOrderOptions}. */
  handed?: InOrderOptions;
  /**
   * With `fresh`: told, before reading, the stream position of the last
   * message JetStream delivered to the consumer being replaced (0: none):
   * what its reader may have handed on without acknowledging it.
   */
  replaced?: (deliveredTo: number) => Promise<void> | void;
}

/** How {@linkcode consumeInOrder} knows and records what was handed on before. */
export interface InOrderOptions {
  /**
   * Messages at or below this stream position were handed on already (by
   * an earlier reader): acknowledged and not handed over again. Default 0.
   */
  after?: number;
  /**
   * Records that every message up to stream position `seq` was handed on;
   * called in order, and a message is acknowledged only once this resolved
   * for it (a rejection stops the reading). Default: nothing recorded.
   */
  record?: (seq: number) => Promise<void>;
}

const notFound = (err: unknown) => {
  if (!/consumer not found/i.test(String(err))) throw err;
};

/** Sets up durable consumer `spec` (see {@linkcode readerConfig}) and reads it with {@linkcode consumeInOrder}. */
export async function readDurable(
  js: JetStreamClient,
  jsm: JetStreamManager,
  spec: DurableSpec,
  handler: (m: JsMsg) => Promise<void> | void,
): Promise<MailboxReader> {
  const { stream, durable, window } = spec;
  if (spec.start === "fresh" && spec.replaced) {
    await spec.replaced(
      await jsm.consumers.info(stream, durable).then(
        (info) => info.delivered.stream_seq,
        (e) => (notFound(e), 0),
      ),
    );
  }
  const make = spec.start === "fresh"
    ? await jsm.consumers.delete(stream, durable).then(() => true, (e) => (notFound(e), true))
    : await jsm.consumers.info(stream, durable).then(() => false, (e) => (notFound(e), true));
  const ackWaitMs = spec.ackWaitMs ?? ACK_WAIT_MS;
  if (make) {
    await jsm.consumers.add(stream, readerConfig(durable, window, ackWaitMs, spec.config));
  }
  return consumeInOrder(await js.consumers.get(stream, durable), window, handler, spec.handed);
}

/**
 * Publishes `payload` to JetStream with its headers and a message id (stored
 * once per id within the duplicate window); resolves once stored (`duplicate`
 * when it was stored before). A failure becomes a `BrokerError` that starts
 * with `what`.
 */
export async function store(
  js: JetStreamClient,
  subject: string,
  payload: Uint8Array,
  meta: {
    msgID: string;
    headers: Array<[name: string, value: string]>;
    what: string;
    /** Said when the stream is full: what its cap is and what to do. */
    full?: string;
    /** The largest message the nats-server takes (its `max_payload`), if known. */
    maxPayload?: number;
  },
): Promise<PubAck> {
  const max = meta.maxPayload;
  if (max !== undefined && payload.length + HEADROOM_BYTES > max) {
    throw new BrokerError(
      `${meta.what}: its ${payload.length} bytes do not fit the cluster's nats-server, which takes messages of at most ${max} bytes (its max_payload): set max_payload: 8MB (at most 64MB) in the nats-server configuration to forward messages and files this large (files travel in chunks of 1 MiB), or connect sender and receiver to the same server`,
    );
  }
  const h = headers();
  for (const [k, v] of meta.headers) h.set(k, v);
  try {
    return await js.publish(subject, payload, {
      msgID: meta.msgID,
      headers: h,
      timeout: STORE_TIMEOUT_MS,
    });
  } catch (err) {
    if (meta.full && /maximum (bytes|messages) exceeded/i.test(whyNot(err))) {
      throw new BrokerError(`${meta.what}: ${meta.full}; the message was not stored`, {
        cause: err,
      });
    }
    throw storeError(meta.what, err);
  }
}

/** JetStream's own reason for refusing (a 503 answer's message is only its code). */
function whyNot(err: unknown): string {
  const api = (err as { api_error?: { description?: string } }).api_error;
  return api?.description ?? (errorText(err));
}

/** The error for a store (or the look-up before it) that JetStream did not take, starting with `what`. */
export function storeError(what: string, err: unknown): BrokerError {
  if (err instanceof BrokerError) return err;
  const why = whyNot(err);
  return new BrokerError(
    /timeout/i.test(why)
      ? `${what}: no answer from JetStream within ${
        STORE_TIMEOUT_MS / 1000
      } s: the cluster's nats-server is unreachable or its JetStream is not ready; the message was not stored (send it again once NATS is back)`
      : `${what}: ${why} (check that nats-server runs with JetStream, -js, and has room)`,
    { cause: err },
  );
}

/** A JetStream consumer being read; `stop()` ends the reading (idempotent). */
export interface MailboxReader extends AsyncDisposable {
  /** Stops reading; resolves once the last handled message's acknowledgement is stored. */
  stop(): Promise<void>;
  /** Settles when reading ends: rejects with the handler's error if it threw. */
  readonly done: Promise<void>;
}

/**
 * Reads `consumer` in order, handing `window` messages at a time to
 * `handler`; each is acknowledged (and its acknowledgement confirmed) after
 * its handler and every earlier one's succeeded. The first failure stops the
 * reading: that message and every later one stay unacknowledged. A message
 * NATS offers again (its ack wait ran out: a slow destination, or an
 * acknowledgement that did not reach JetStream) is not handed over twice,
 * whether its handler still runs or is done; nor is one at or below
 * `handed.after`. The consumer should have
 * `max_ack_pending` = `window` (as {@linkcode readerConfig} sets): then no more
 * than `window` messages are held here at once, however slow the handler.
 */
async function consumeInOrder(
  consumer: Consumer,
  window: number,
  handler: (m: JsMsg) => Promise<void> | void,
  handed: InOrderOptions = {},
): Promise<MailboxReader> {
  const messages = await consumer.consume({ max_messages: window });
  let lastAck: Promise<unknown> = Promise.resolve();
  let stopping = false;
  const held = new Set<number>();
  /** Every message up to here was handed on (in order). */
  let upTo = handed.after ?? 0;
  const record = handed.record;
  const done = (async () => {
    let prev: Promise<void> = Promise.resolve();
    let failure: { err: unknown } | undefined;
    const open: Promise<void>[] = [];
    for await (const m of messages) {
      if (stopping || failure) break;
      if (held.has(m.seq)) continue; // offered again while still being handled
      if (m.seq <= upTo) {
        // offered again after it was handed on (its acknowledgement was lost or late)
        lastAck = m.ackAck().catch(() => false);
        continue;
      }
      held.add(m.seq);
      const handled = Promise.resolve().then(() => handler(m));
      const inOrder = Promise.all([prev, handled]).then(() => {
        upTo = Math.max(upTo, m.seq);
      });
      const acked = inOrder.then(() => record?.(m.seq)).then(() => {
        lastAck = m.ackAck().catch(() => false);
        held.delete(m.seq);
      });
      acked.catch((err) => {
        // Stop taking more at once: nothing after a failure is acknowledged.
        failure ??= { err };
        messages.stop();
      });
      inOrder.catch(() => {}); // its failure is acked's
      prev = inOrder;
      open.push(acked);
      if (open.length >= window) await open.shift();
    }
    await Promise.all(open);
  })();
  let stopped: Promise<void> | undefined;
  const stop = () =>
    stopped ??= (async () => {
      stopping = true;
      // (not close(): its promise never settles once the loop has left the iterator)
      messages.stop();
      await done.catch(() => {});
      // Acks go out in order: once the last one is stored, all are.
      await lastAck;
    })();
  done.catch(() => stop());
  return { stop, done, [Symbol.asyncDispose]: stop };
}
