import type { MsgHeader } from "../frame.ts";
import type { Inbound } from "../_inbound.ts";
import type { Logger } from "../../log/mod.ts";

/**
 * How a clustered server takes a message from its own mailbox (sent to it
 * by name through another server): once per proven sender and id, like a
 * message relayed over a link; an answer goes to the request waiting for
 * it, anything else to the listeners or the queue of its type. Resolves
 * once it is stored or handed on (a listener that is behind holds it).
 */
export function clusterReceiver(
  inbound: () => Inbound,
  log: Logger,
): (h: MsgHeader, data: Uint8Array, binary: Uint8Array, payload: Uint8Array) => Promise<void> {
  return async (h, data, binary, payload) => {
    const into = inbound();
    await into.open(h.src);
    const seen = into.seenOf(h.src)!;
    const key = `${h.src}\n${h.id}`;
    if (seen.seen(key)) return;
    try {
      if (h.file) {
        // Refused where it was sent (see ClusterBridge.elsewhere); one that got past is not kept.
        log.warn("file chunk through another server not taken", { from: h.src, file: h.file.name });
        return;
      }
      const answered = h.replyTo !== undefined &&
        into.pending.answer(h.replyTo, h.src, h, data, binary, payload);
      if (!answered) {
        const held: Promise<unknown>[] = [];
        const r = into.listeners.deliver({ hold: (p) => held.push(p) }, h, data, binary, payload);
        if (r !== true) await r;
        await Promise.all(held);
      }
    } catch (err) {
      seen.forget(key);
      throw err;
    }
    await seen.commit();
  };
}
