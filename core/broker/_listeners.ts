import type { Logger } from "../log/mod.ts";
import { decodePayload, encodePayload, type MsgHeader, redelivered } from "./frame.ts";
import type { Link } from "./link.ts";
import type { TypeQueues } from "./type_queues.ts";
import type { Subscription } from "./api.ts";
import type { Sink } from "./options.ts";
import { BrokerError } from "./errors.ts";

/**
 * Per-type queues shared beyond this connector (a cluster's, in JetStream:
 * `core/broker/cluster/type_share.ts`); used in place of the queues on disk.
 */
export interface SharedQueues {
  /** Whether a message of `type` must queue behind others instead of going to the listeners here. */
  behind(type: string): boolean;
  /** Stores a message of `type` in the shared queue (encoded payload); resolves once stored. */
  push(type: string, payload: Uint8Array): Promise<void>;
  /** Told when the first listener of `type` without a tag filter attaches here (`true`) and the last leaves. */
  listening(type: string, on: boolean): void;
}

/** Bytes of a queue read per drain step. */
const DRAIN_SLICE_BYTES = 1024 * 1024;

/** A queue being handed to its first listener. */
interface Drain {
  running: boolean;
  /** Queue records delivered and not yet taken (they stay in the queue meanwhile). */
  outstanding: number;
  /** The listener it is being handed to. */
  sink: Sink | undefined;
  /** Records taken off the front of the queue so far (the position of its front, counted from 0). */
  front: number;
  /**
   * Position past the last record handed to a confirming listener: the
   * records before it that are still queued were handed out before.
   */
  handedTo: number;
}

/**
 * Where received messages go, by type: to every attached sink, or, when a
 * type has none, onto its queue on disk. A sink that attaches gets the
 * queued messages first, in order, a slice at a time as it keeps up; a
 * queued message leaves the queue only once the sink has taken it (for a
 * confirming sink: once its app confirmed it). A live message a sink could
 * not hand on (its app went away unconfirmed) goes back onto the queue.
 */
export class Listeners {
  readonly #sinks = new Map<string, Set<Sink>>();
  readonly #drains = new Map<string, Drain>();
  readonly #queues: TypeQueues;
  readonly #log: Logger;
  readonly #shared: SharedQueues | undefined;

  constructor(queues: TypeQueues, log: Logger, shared?: SharedQueues) {
    this.#queues = queues;
    this.#log = log;
    this.#shared = shared;
  }

  /** Attaches a sink to types; queued messages of those types are handed to it first. */
  add(types: string[], sink: Sink): Subscription {
    for (const type of types) {
      let set = this.#sinks.get(type);
      if (!set) this.#sinks.set(type, set = new Set());
      set.add(sink);
      if (this.#queues.count(type) > 0) void this.#drain(type);
      if (sink.tag === undefined) this.#shared?.listening(type, true);
    }
    const close = () => {
      for (const type of types) {
        const set = this.#sinks.get(type);
        set?.delete(sink);
        if (set?.size === 0) this.#sinks.delete(type);
        if (this.#shared && !this.#unfiltered(type)) this.#shared.listening(type, false);
      }
    };
    return { close, [Symbol.dispose]: close };
  }

  /** The first sink of `type` without a tag filter (queued messages go to it). */
  #unfiltered(type: string): Sink | undefined {
    const set = this.#sinks.get(type);
    if (set) { for (const s of set) if (s.tag === undefined) return s; }
    return undefined;
  }

  #drainOf(type: string): Drain {
    let d = this.#drains.get(type);
    if (!d) {
      this.#drains.set(
        type,
        d = {
          running: false,
          outstanding: 0,
          sink: undefined,
          front: 0,
          // Records leave a queue only through its drain: its front is still where it was opened.
          handedTo: this.#queues.handedOut(type),
        },
      );
    }
    return d;
  }

  async #drain(type: string): Promise<void> {
    const d = this.#drainOf(type);
    const q = this.#queues.get(type);
    if (d.running || !q) return;
    d.running = true;
    try {
      let cursor = q.start;
      /** Position of the record at `cursor` (the front's, as `cursor` starts at the front). */
      let at = d.front;
      while (true) {
        const sink = this.#unfiltered(type);
        if (!sink) return; // nobody (without a tag filter) listens: the rest stays queued
        if (sink !== d.sink || d.outstanding === 0 && cursor.segment < q.start.segment) {
          d.sink = sink;
          cursor = q.start;
          at = d.front;
        }
        if (q.durableCount <= d.outstanding) {
          if (q.count > d.outstanding) {
            await q.flush().catch(() => {});
            continue;
          }
          return; // caught up: new messages go to the listeners directly
        }
        const { records, next } = await q.read(cursor, DRAIN_SLICE_BYTES);
        if (records.length === 0) return;
        if (this.#unfiltered(type) !== sink) continue;
        cursor = next;
        let behind = false;
        for (let payload of records) {
          let f = decodePayload(payload);
          // Queued records are taken in order from the front, so those handed out form its first part.
          if (at++ < d.handedTo) ({ f, payload } = redelivered(f, payload));
          if (sink.confirms) d.handedTo = Math.max(d.handedTo, at);
          d.outstanding++;
          const taken = once((ok: boolean) => {
            d.outstanding--;
            if (ok) {
              q.consume(1);
              d.front++;
            } else {
              d.sink = undefined;
              void this.#drain(type);
            }
          });
          try {
            behind =
              sink.deliver(f.header as MsgHeader, f.data, f.binary, payload, taken) === false ||
              behind;
          } catch (err) {
            this.#log.error("listener failed", { type, error: (err as Error).message });
          }
          if (!sink.confirms) taken(true);
        }
        if (behind && sink.drained) await sink.drained();
      }
    } finally {
      d.running = false;
    }
  }

  /** How many records at the front of `type`'s queue were handed to a confirming listener. */
  handedOut(type: string): number {
    const d = this.#drains.get(type);
    return d ? Math.max(0, d.handedTo - d.front) : this.#queues.handedOut(type);
  }

  /**
   * Hands a received message to the sinks of its type (holding `link` while
   * a sink is behind) and returns `true`, or queues it and returns the
   * promise of it being on disk. Throws when it cannot be queued (full).
   */
  deliver(
    link: Pick<Link, "hold">,
    h: MsgHeader,
    data: Uint8Array,
    binary: Uint8Array,
    payload: Uint8Array | undefined,
  ): true | Promise<void> {
    if (h.redelivered !== undefined) {
      // Only the connector that hands a message out says it may be a repeat, never its sender.
      h = { ...h };
      delete h.redelivered;
      payload = undefined;
    }
    const sinks = this.#sinks.get(h.type);
    const d = this.#drains.get(h.type);
    const queued = this.#queues.count(h.type) - (d?.outstanding ?? 0);
    // Unfiltered sinks take live messages only once the queue is handed out (order);
    // tag-filtered sinks never get queued messages, so they take matching live ones at once.
    const live = !d?.running && queued <= 0 && !this.#shared?.behind(h.type);
    let handed = false;
    let toQueue = true;
    if (sinks && sinks.size > 0) {
      toQueue = false;
      let p: Uint8Array | undefined;
      for (const s of sinks) {
        if (s.tag !== undefined ? s.tag !== h.tag : !live) {
          if (s.tag === undefined) toQueue = true;
          continue;
        }
        payload ??= encodePayload(h, data, binary);
        // A confirming sink may give the message back later: keep a copy past the framer's buffer.
        if (s.confirms) p ??= payload.slice();
        const copy = p;
        // A sink that does not confirm is done once it returns: no closure per message.
        const taken = s.confirms
          ? once((ok: boolean) => {
            if (!ok && copy) this.#requeue(h.type, redelivered(decodePayload(copy), copy).payload);
          })
          : TAKEN;
        handed = true;
        try {
          if (s.deliver(h, data, binary, payload, taken) === false && s.drained) {
            link.hold(s.drained());
          }
        } catch (err) {
          this.#log.error("listener failed", { type: h.type, error: (err as Error).message });
        }
        if (!s.confirms) taken(true);
      }
      if (!handed) toQueue = true;
    }
    if (!toQueue) return true;
    if (this.#shared) return this.#shared.push(h.type, payload ?? encodePayload(h, data, binary));
    // h.src is proven (the link refused a sender other than its peer, or one a server did not relay)
    const stored = this.#queues.push(
      h.type,
      (payload ?? encodePayload(h, data, binary)).slice(),
      h.src,
    );
    if (sinks && sinks.size > 0) stored.then(() => this.#drain(h.type), () => {});
    return stored;
  }

  /**
   * Hands one message of a shared queue to the first listener of its type
   * without a tag filter; resolves once it took it (a listener that is
   * behind: once it can take more), rejects when there is none or its app
   * went away without it.
   */
  handOut(h: MsgHeader, data: Uint8Array, binary: Uint8Array, payload: Uint8Array): Promise<void> {
    const sink = this.#unfiltered(h.type);
    if (!sink) {
      return Promise.reject(new BrokerError(`No listener for message type "${h.type}" here`));
    }
    return new Promise((resolve, reject) => {
      const taken = once((ok: boolean) =>
        ok ? resolve() : reject(
          new BrokerError(`The listener of message type "${h.type}" left without taking it`),
        )
      );
      let behind = false;
      try {
        behind = sink.deliver(h, data, binary, payload, taken) === false;
      } catch (err) {
        this.#log.error("listener failed", { type: h.type, error: (err as Error).message });
      }
      if (sink.confirms) return;
      if (behind && sink.drained) sink.drained().then(() => taken(true), () => taken(false));
      else taken(true);
    });
  }

  /** Puts back a message a listener's app did not confirm. */
  #requeue(type: string, payload: Uint8Array): void {
    if (this.#shared) {
      this.#shared.push(type, payload).catch((err) =>
        this.#log.error("cannot requeue an unconfirmed message", { type, error: err.message })
      );
      return;
    }
    try {
      this.#queues.push(type, payload).then(
        () => this.#sinks.has(type) ? this.#drain(type) : undefined,
        (err) =>
          this.#log.error("cannot requeue an unconfirmed message", { type, error: err.message }),
      );
    } catch (err) {
      this.#log.error("cannot requeue an unconfirmed message", {
        type,
        error: (err as Error).message,
      });
    }
  }
}

/** The `taken` callback of a sink that does not confirm: nothing to do. */
const TAKEN = (_ok: boolean): void => {};

function once(f: (ok: boolean) => void): (ok: boolean) => void {
  let done = false;
  return (ok) => {
    if (done) return;
    done = true;
    f(ok);
  };
}
