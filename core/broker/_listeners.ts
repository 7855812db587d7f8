import type { Logger } from "../log/mod.ts";
import { encodePayload, type MsgHeader } from "./frame.ts";
import type { Link } from "./link.ts";
import type { TypeQueues } from "./type_queues.ts";
import type { Subscription } from "./api.ts";
import type { Sink } from "./options.ts";

/**
 * Where received messages go, by type: to every attached sink, or, when a
 * type has none, onto its queue on disk until a sink attaches (it gets the
 * queued messages first, in order).
 */
export class Listeners {
  readonly #sinks = new Map<string, Set<Sink>>();
  readonly #queues: TypeQueues;
  readonly #log: Logger;

  constructor(queues: TypeQueues, log: Logger) {
    this.#queues = queues;
    this.#log = log;
  }

  /** Attaches a sink to types; queued messages of those types are handed to it first. */
  add(types: string[], sink: Sink): Subscription {
    for (const type of types) {
      let set = this.#sinks.get(type);
      if (!set) this.#sinks.set(type, set = new Set());
      set.add(sink);
      for (const payload of this.#queues.take(type)) {
        const v = new DataView(payload.buffer, payload.byteOffset);
        const hl = v.getUint32(0);
        const h = JSON.parse(new TextDecoder().decode(payload.subarray(4, 4 + hl))) as MsgHeader;
        const dl = v.getUint32(4 + hl);
        sink.deliver(
          h,
          payload.subarray(8 + hl, 8 + hl + dl),
          payload.subarray(8 + hl + dl),
          payload,
        );
      }
    }
    const close = () => {
      for (const type of types) {
        const set = this.#sinks.get(type);
        set?.delete(sink);
        if (set?.size === 0) this.#sinks.delete(type);
      }
    };
    return { close, [Symbol.dispose]: close };
  }

  /**
   * Hands a received message to the sinks of its type (holding `link` while
   * a sink is behind) or queues it; returns `true` when it was queued (the
   * queue must be flushed before the message is acknowledged).
   */
  deliver(
    link: Link,
    h: MsgHeader,
    data: Uint8Array,
    binary: Uint8Array,
    payload: Uint8Array | undefined,
  ): boolean {
    const sinks = this.#sinks.get(h.type);
    if (sinks && sinks.size > 0) {
      payload ??= encodePayload(h, data, binary);
      for (const s of sinks) {
        try {
          if (s.deliver(h, data, binary, payload) === false && s.drained) {
            link.hold(s.drained());
          }
        } catch (err) {
          this.#log.error("listener failed", { type: h.type, error: (err as Error).message });
        }
      }
      return false;
    }
    try {
      this.#queues.push(h.type, payload ?? encodePayload(h, data, binary));
      return true;
    } catch (err) {
      this.#log.error("cannot queue message", { type: h.type, error: (err as Error).message });
      return false;
    }
  }
}
