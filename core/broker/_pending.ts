import { type ClockTimer, systemClock } from "../async/mod.ts";
import type { MsgHeader } from "./frame.ts";
import { BrokerError, RequestTimeoutError } from "./errors.ts";

/**
 * Default {@linkcode PendingReplies} cap: requests and file transfers
 * waiting for their answer at once (an app that asks peers that never answer,
 * with long timeouts, would otherwise grow the connector's memory without end).
 */
export const MAX_PENDING_REPLIES = 65_536;

/** A pending request (or file transfer) waiting for its response. */
export interface Pending {
  resolve(h: MsgHeader, data: Uint8Array, binary: Uint8Array, payload: Uint8Array): void;
  reject(err: Error): void;
  /** The peer the request went to: only its answer resolves it. */
  peer: string;
  timer: ClockTimer | undefined;
}

/**
 * Requests and file transfers waiting for their response, by message id:
 * an incoming message whose `replyTo` names one resolves it instead of
 * reaching the listeners; a timeout rejects it with `RequestTimeoutError`.
 */
export class PendingReplies {
  readonly #pending = new Map<string, Pending>();
  readonly #max: number;

  /** `max`: most waiting at once (default {@linkcode MAX_PENDING_REPLIES}); one more is refused. */
  constructor(max = MAX_PENDING_REPLIES) {
    this.#max = max;
  }

  /** Requests and transfers waiting for their answer now. */
  get size(): number {
    return this.#pending.size;
  }

  /**
   * Registers a pending response for `id` from peer `dst` (a resolved peer
   * name), with a timeout (0 = none). Throws `BrokerError` when `max` are
   * waiting already (nothing is registered: the request must not be sent).
   */
  expect(
    id: string,
    dst: string,
    type: string,
    timeoutMs: number,
    p: Omit<Pending, "timer" | "peer">,
  ): void {
    if (!this.#pending.has(id) && this.#pending.size >= this.#max) {
      throw new BrokerError(
        `Too many requests waiting for an answer: ${this.#max} already wait on this connector (each is freed by its answer or its timeout): wait for some, or give requests a shorter timeout`,
      );
    }
    this.#pending.get(id)?.timer?.clear(); // an id used again: the old timer must not end the new wait
    const timer = timeoutMs > 0
      ? systemClock.after(timeoutMs, () => {
        this.#pending.delete(id);
        p.reject(new RequestTimeoutError(id, dst, type, timeoutMs));
      })
      : undefined;
    this.#pending.set(id, { ...p, peer: dst, timer });
  }

  /** Drops a pending response (its send failed). */
  unexpect(id: string): void {
    const p = this.#pending.get(id);
    p?.timer?.clear();
    this.#pending.delete(id);
  }

  /**
   * Resolves the response `replyTo` waits for, when `from` is the peer the
   * request went to; returns `false` when nothing of `from` waits.
   */
  answer(
    replyTo: string,
    from: string,
    h: MsgHeader,
    data: Uint8Array,
    binary: Uint8Array,
    payload: Uint8Array,
  ): boolean {
    const p = this.#pending.get(replyTo);
    if (!p || p.peer !== from) return false;
    this.#pending.delete(replyTo);
    p.timer?.clear();
    p.resolve(h, data, binary, payload);
    return true;
  }

  /** Rejects every pending response with the error `why(id)` gives (shutdown). */
  rejectAll(why: (id: string) => Error): void {
    for (const [id, p] of this.#pending) {
      p.timer?.clear();
      p.reject(why(id));
    }
    this.#pending.clear();
  }
}
