import type { Consumer, JsMsg } from "nats";

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
