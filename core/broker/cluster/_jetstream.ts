import { BrokerError } from "../errors.ts";
import {
  AckPolicy,
  type Consumer,
  type ConsumerConfig,
  headers,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
  type PubAck,
  RetentionPolicy,
  StorageType,
} from "nats";

/** What {@linkcode ensureStream} creates: a file stream with a two-minute duplicate window. */
export interface StreamSpec {
  name: string;
  subjects: string[];
  retention: RetentionPolicy;
  replicas: number;
  /** Oldest message kept, ms. Default: no limit. */
  maxAgeMs?: number;
  /** Bytes kept at most. Default: no limit. */
  maxBytes?: number;
}

/** Creates stream `spec.name` unless it exists (an existing one is left as it is). */
export async function ensureStream(jsm: JetStreamManager, spec: StreamSpec): Promise<void> {
  try {
    await jsm.streams.info(spec.name);
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
    max_bytes: spec.maxBytes ?? -1,
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
  more: Partial<ConsumerConfig> = {},
): Partial<ConsumerConfig> {
  return {
    durable_name: durable,
    ack_policy: AckPolicy.Explicit,
    ack_wait: 10_000_000_000,
    max_ack_pending: window,
    ...more,
  };
}

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
  const make = spec.start === "fresh"
    ? await jsm.consumers.delete(stream, durable).then(() => true, (e) => (notFound(e), true))
    : await jsm.consumers.info(stream, durable).then(() => false, (e) => (notFound(e), true));
  if (make) await jsm.consumers.add(stream, readerConfig(durable, window, spec.config));
  return consumeInOrder(await js.consumers.get(stream, durable), window, handler);
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
  meta: { msgID: string; headers: Array<[name: string, value: string]>; what: string },
): Promise<PubAck> {
  const h = headers();
  for (const [k, v] of meta.headers) h.set(k, v);
  try {
    return await js.publish(subject, payload, {
      msgID: meta.msgID,
      headers: h,
      timeout: STORE_TIMEOUT_MS,
    });
  } catch (err) {
    throw storeError(meta.what, err);
  }
}

/** The error for a store (or the look-up before it) that JetStream did not take, starting with `what`. */
export function storeError(what: string, err: unknown): BrokerError {
  if (err instanceof BrokerError) return err;
  const why = err instanceof Error ? err.message : String(err);
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
 * NATS offers again while its handler still runs (its ack wait ran out: a
 * slow destination) is not handed over twice. The consumer should have
 * `max_ack_pending` = `window` (as {@linkcode readerConfig} sets): then no more
 * than `window` messages are held here at once, however slow the handler.
 */
async function consumeInOrder(
  consumer: Consumer,
  window: number,
  handler: (m: JsMsg) => Promise<void> | void,
): Promise<MailboxReader> {
  const messages = await consumer.consume({ max_messages: window });
  let lastAck: Promise<unknown> = Promise.resolve();
  let stopping = false;
  const held = new Set<number>();
  const done = (async () => {
    let prev: Promise<void> = Promise.resolve();
    let failure: { err: unknown } | undefined;
    const open: Promise<void>[] = [];
    for await (const m of messages) {
      if (stopping || failure) break;
      if (held.has(m.seq)) continue; // offered again while still being handled
      held.add(m.seq);
      const handled = Promise.resolve().then(() => handler(m));
      const acked = Promise.all([prev, handled]).then(() => {
        lastAck = m.ackAck().catch(() => false);
        held.delete(m.seq);
      });
      acked.catch((err) => {
        // Stop taking more at once: nothing after a failure is acknowledged.
        failure ??= { err };
        messages.stop();
      });
      prev = acked;
      open.push(acked);
      if (open.length >= window) await open.shift();
    }
    await prev;
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
