import { BrokerError } from "../errors.ts";
import {
  type Consumer,
  headers,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
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

/**
 * Publishes `payload` to JetStream with one header and a message id (stored
 * once per id within the duplicate window); resolves once stored. A failure
 * becomes a `BrokerError` that starts with `what`.
 */
export async function store(
  js: JetStreamClient,
  subject: string,
  payload: Uint8Array,
  meta: { msgID: string; header: [name: string, value: string]; what: string },
): Promise<void> {
  const h = headers();
  h.set(...meta.header);
  try {
    await js.publish(subject, payload, { msgID: meta.msgID, headers: h });
  } catch (err) {
    throw new BrokerError(
      `${meta.what}: ${
        err instanceof Error ? err.message : String(err)
      } (check that nats-server runs with JetStream, -js, and has room)`,
      { cause: err },
    );
  }
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
 * reading: that message and every later one stay unacknowledged.
 */
export async function consumeInOrder(
  consumer: Consumer,
  window: number,
  handler: (m: JsMsg) => Promise<void> | void,
): Promise<MailboxReader> {
  const messages = await consumer.consume({ max_messages: Math.max(64, window) });
  let lastAck: Promise<unknown> = Promise.resolve();
  let stopping = false;
  const done = (async () => {
    let prev: Promise<void> = Promise.resolve();
    let failure: { err: unknown } | undefined;
    const open: Promise<void>[] = [];
    for await (const m of messages) {
      if (stopping || failure) break;
      const handled = Promise.resolve().then(() => handler(m));
      const acked = Promise.all([prev, handled]).then(() => {
        lastAck = m.ackAck().catch(() => false);
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
