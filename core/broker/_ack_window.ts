import type { Clock, ClockTimer } from "../async/mod.ts";

/**
 * How long an acknowledgement nobody waits for (no message since the last
 * one asked for it) may be held back, so that its received-id record joins
 * the next group commit instead of costing an `fdatasync` of its own. Each
 * one sent costs both sides some work on their event loops, which delays a
 * round trip in flight on the same link: at 5 ms the broker's request p99
 * on a 2-core host was set by those (2,000 round trips timed: most of the
 * slow ones had a held-back acknowledgement inside them); 20 ms makes them
 * a quarter as many.
 */
export const LAZY_ACK_MS = 20;
/** Messages after which a held-back acknowledgement goes out anyway. */
const LAZY_ACK_MAX = 4096;

/** What an {@linkcode AckWindow} acknowledges through. */
export interface AckWindowOptions {
  /**
   * Stores the received ids of the messages so far; resolves once they are
   * durable. `undefined`: no peer is bound yet, nothing to acknowledge.
   * `background`: a held-back acknowledgement, which no sender waits for
   * (its sync must not stall the thread's other traffic).
   */
  commit(background: boolean): Promise<void> | undefined;
  /** Sends the cumulative acknowledgement: `n` messages of the link are settled. */
  send(n: number): void;
  clock: Clock;
}

/**
 * The acknowledgements of one link's received messages: cumulative counts
 * sent in order, each only once the messages it covers are durable (queued
 * on disk or taken by a listener, received ids on disk); refusals, sent by
 * the session as they happen, go ahead of the count that covers them. A
 * message that asked for an acknowledgement is acknowledged as soon as the
 * chunk it came in is processed; otherwise the count is held up to
 * {@linkcode LAZY_ACK_MS} so many messages share one commit.
 */
export class AckWindow {
  readonly #opts: AckWindowOptions;
  /** Messages received, and acknowledged back. */
  #recv = 0;
  #acked = 0;
  /** Durability of messages received since the last acknowledgement. */
  #waits: Promise<void>[] = [];
  /** Whether a message received since the last acknowledgement asked for one (`ack`). */
  #wanted = false;
  #lazy: ClockTimer | undefined;
  /** Acknowledgements in order, each after its messages are durable. */
  chain: Promise<void> = Promise.resolve();

  constructor(opts: AckWindowOptions) {
    this.#opts = opts;
  }

  /** Counts a received message; returns its number on the link. */
  received(ackRequested: boolean): number {
    if (ackRequested) this.#wanted = true;
    return ++this.#recv;
  }

  /** The acknowledgement covering the current messages waits for `durable` too. */
  wait(durable: Promise<void>): void {
    this.#waits.push(durable);
  }

  /**
   * After each chunk read: acknowledges at once when a sender waits for it
   * (a message asked for an acknowledgement, one is still being stored, or
   * many are unacknowledged); otherwise within {@linkcode LAZY_ACK_MS}, with
   * whatever arrives meanwhile.
   */
  chunkDone(): void {
    if (this.#recv === this.#acked) return;
    if (this.#wanted || this.#waits.length > 0 || this.#recv - this.#acked >= LAZY_ACK_MAX) {
      this.flush();
    } else {
      this.#lazy ??= this.#opts.clock.after(LAZY_ACK_MS, () => this.#flush(true));
    }
  }

  /** Acknowledges what was received so far, once it is durable. */
  flush(): void {
    this.#flush(false);
  }

  #flush(background: boolean): void {
    this.#stopTimer();
    this.#wanted = false;
    if (this.#recv === this.#acked) return;
    const ids = this.#opts.commit(background);
    if (ids === undefined) return;
    const n = this.#recv;
    this.#acked = n;
    const waits = this.#waits;
    this.#waits = [];
    const durable: Promise<unknown> = waits.length === 0 ? ids : Promise.all([...waits, ids]);
    this.chain = this.chain.then(() => durable).then(() => this.#opts.send(n));
  }

  /** Drops a held-back acknowledgement (the link closed). */
  close(): void {
    this.#stopTimer();
  }

  #stopTimer(): void {
    this.#lazy?.clear();
    this.#lazy = undefined;
  }
}
