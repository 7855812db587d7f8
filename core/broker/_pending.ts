import { type ClockTimer, systemClock } from "../async/mod.ts";
import type { MsgHeader } from "./frame.ts";
import { RequestTimeoutError } from "./errors.ts";

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

  /** Registers a pending response for `id` from peer `dst` (a resolved peer name), with a timeout (0 = none). */
  expect(
    id: string,
    dst: string,
    type: string,
    timeoutMs: number,
    p: Omit<Pending, "timer" | "peer">,
  ): void {
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
