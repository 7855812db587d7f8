import type { Logger } from "../../log/mod.ts";
import { decodePayload, type MsgHeader, redelivered } from "../frame.ts";
import type { SharedQueues } from "../_listeners.ts";
import type { ClusterNode } from "./node.ts";
import type { MailboxReader } from "./queues.ts";
import { READER_WINDOW } from "./_jetstream.ts";

/** What a {@linkcode ClusterTypeShare} works with. */
export interface ClusterTypeShareOptions {
  node: ClusterNode;
  /** Hands a queued message to this server's listener of its type; resolves once it took it. */
  handOut(h: MsgHeader, data: Uint8Array, binary: Uint8Array, payload: Uint8Array): Promise<void>;
  log: Logger;
  /** Messages of a type's queue in flight to its listener at once. Default 64. */
  window?: number;
}

/** This server reading one type's queue. */
interface TypeReader {
  reader: Promise<MailboxReader> | undefined;
  /** The consumer is set up and `pending` known. */
  ready: boolean;
  /** Messages handed to the listener and not yet taken. */
  outstanding: number;
  /** Messages of the queue not yet handed out, as JetStream last said. */
  pending: number;
  /** Stream position of the last message the listener took. */
  lastSeq: number;
  /**
   * Messages up to this stream position (after the recorded mark) may have
   * been handed to a listener by the previous reader (one that went away or
   * gave them back unconfirmed): they go out marked `redelivered`.
   */
  again: number;
}

/**
 * The server connectors' per-type receive queues, shared by the whole
 * cluster in JetStream: a message for a server connector whose type has no
 * listener on that server (or whose listener is still taking the queue) is
 * stored in its type's queue, and acknowledged once stored there. The
 * first server whose app listens to the type holds its queue (one at a
 * time, taken over when that server's listener leaves or the server dies)
 * and hands it to its listener in order, each message leaving the queue
 * once the listener took it; once it has caught up, messages arriving at
 * that server go to its listener directly, as without a cluster. A
 * listener on another server waits as a standby meanwhile.
 */
export class ClusterTypeShare implements SharedQueues, AsyncDisposable {
  readonly #o: ClusterTypeShareOptions;
  /** Types with a listener (without a tag filter) here. */
  readonly #wanted = new Set<string>();
  readonly #readers = new Map<string, TypeReader>();
  /** Per type: stores in progress, and the highest stream position stored from here (kept while a reader is here). */
  readonly #stored = new Map<string, { storing: number; maxSeq: number }>();
  #closing: Promise<void> | undefined;

  constructor(opts: ClusterTypeShareOptions) {
    this.#o = opts;
  }

  /** {@inheritDoc SharedQueues.behind} */
  behind(type: string): boolean {
    const r = this.#readers.get(type);
    const s = this.#stored.get(type);
    return !r || !r.ready || r.outstanding > 0 || r.pending > 0 ||
      (s !== undefined && (s.storing > 0 || s.maxSeq > r.lastSeq));
  }

  /** {@inheritDoc SharedQueues.push} */
  async push(type: string, payload: Uint8Array): Promise<void> {
    const f = decodePayload(payload);
    const h = f.header as MsgHeader;
    let s = this.#stored.get(type);
    if (!s) this.#stored.set(type, s = { storing: 0, maxSeq: 0 });
    s.storing++;
    try {
      const seq = await this.#o.node.typeQueues.send(type, `${h.src}:${h.id}`, payload.slice());
      s.maxSeq = Math.max(s.maxSeq, seq);
    } finally {
      // Types are the senders' choice: one without a reader here keeps no entry (a
      // reader taken later counts what waits from JetStream).
      if (--s.storing === 0 && !this.#readers.has(type)) this.#stored.delete(type);
    }
  }

  /** {@inheritDoc SharedQueues.listening} */
  listening(type: string, on: boolean): void {
    if (this.#closing) return;
    if (on) {
      this.#wanted.add(type);
      void this.#take(type);
    } else {
      this.#wanted.delete(type);
      void this.#let(type);
    }
  }

  /** Takes the queues this server's listeners wait for, where their holder left or died (called each second). */
  tick(): void {
    for (const type of this.#wanted) if (!this.#readers.has(type)) void this.#take(type);
  }

  async #take(type: string): Promise<void> {
    if (this.#readers.has(type) || this.#closing) return;
    const r: TypeReader = {
      reader: undefined,
      ready: false,
      outstanding: 0,
      pending: 0,
      lastSeq: 0,
      again: 0,
    };
    this.#readers.set(type, r);
    const { node, log } = this.#o;
    let after: number;
    let again: number;
    try {
      const held = await node.typeHolders.claim(type);
      after = held?.mark ?? 0;
      again = held?.again ?? 0;
    } catch (err) {
      // Held by another live server's listener: this one stands by (tick() tries again).
      this.#readers.delete(type);
      log.debug("type queue held elsewhere", { type, error: (err as Error).message });
      return;
    }
    if (!this.#wanted.has(type) || this.#readers.get(type) !== r) {
      await node.typeHolders.release(type).catch(() => {});
      if (this.#readers.get(type) === r) this.#readers.delete(type);
      return;
    }
    try {
      r.pending = await node.typeQueues.waiting(type);
      r.reader = node.typeQueues.read(type, async (m) => {
        r.outstanding++;
        r.pending = m.pending;
        try {
          let f = decodePayload(m.payload);
          let payload = m.payload;
          if (m.seq <= r.again) ({ f, payload } = redelivered(f, payload));
          await this.#o.handOut(f.header as MsgHeader, f.data, f.binary, payload);
          r.lastSeq = Math.max(r.lastSeq, m.seq);
        } finally {
          r.outstanding--;
        }
      }, {
        window: this.#o.window ?? READER_WINDOW,
        // How far the listeners got, kept with the claim: a holder after this one
        // (this server died before JetStream had the acknowledgements) skips it.
        after,
        record: node.typeHolders.marker(type),
        // What the reader before this one was given past the mark may have reached its
        // listener: kept with the claim first, so a holder after this one marks it too.
        replaced: async (deliveredTo) => {
          r.again = Math.max(again, deliveredTo);
          if (r.again > after && r.again > again) {
            await node.typeHolders.mark(type, r.again, "again");
          }
        },
      });
      await r.reader;
      r.ready = true;
      (await r.reader).done.catch((err) => {
        if (this.#readers.get(type) !== r) return;
        this.#readers.delete(type);
        if (this.#wanted.has(type)) {
          log.warn("type queue delivery stopped", { type, error: (err as Error).message });
        }
      });
    } catch (err) {
      if (this.#readers.get(type) === r) this.#readers.delete(type);
      log.warn("type queue not opened", { type, error: (err as Error).message });
    }
  }

  async #let(type: string): Promise<void> {
    const r = this.#readers.get(type);
    if (!r) return;
    this.#readers.delete(type);
    if (this.#stored.get(type)?.storing === 0) this.#stored.delete(type);
    await (await r.reader?.catch(() => undefined))?.stop();
    await this.#o.node.typeHolders.release(type).catch(() => {});
  }

  /** Stops reading every type's queue and lets them go to other servers. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#wanted.clear();
      await Promise.all([...this.#readers.keys()].map((t) => this.#let(t)));
    })();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
