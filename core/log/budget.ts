/**
 * A log budget: at most so many lines of one kind per time window, for
 * lines a peer can cause at will (one per request it sends). What is over
 * the budget is counted; the next line let through says how many, and so
 * does a summary at the end of the window when no line comes after.
 */

import type { Clock, ClockTimer } from "../async/mod.ts";

/** What a {@linkcode LogBudget} reads the time from and arms its one-shot timer with. */
type BudgetClock = Pick<Clock, "now" | "after">;

/** The real clock with an unreferenced `setTimeout`: a pending summary never keeps the process alive. */
const systemBudgetClock: BudgetClock = {
  now: () => Date.now(),
  after(ms, fn) {
    const t = setTimeout(fn, ms);
    Deno.unrefTimer(t);
    return { clear: () => clearTimeout(t) };
  },
};

/** Options for {@linkcode LogBudget}. */
export interface LogBudgetOptions {
  /** Lines let through per window. Default 10. */
  lines?: number;
  /** Window length, ms. Default 10000. */
  windowMs?: number;
  /**
   * Called at the end of a window in which lines were not logged and no
   * line came after to say so (and on {@linkcode LogBudget.close}), once
   * per kind with that kind's count: log the kind's own message with
   * `not_logged`, so that a burst followed by silence is still told.
   * Default: none (the count waits for the next line let through).
   */
  onSummary?: (notLogged: number, kind: string) => void;
  /** Time and timers (`after` must not keep the process alive). Default: `Date.now` and an unreferenced `setTimeout`. */
  clock?: BudgetClock;
}

/**
 * Decides, line by line, whether a line of one kind is logged. With
 * `onSummary`, an unreferenced timer is armed while lines are not logged
 * (never otherwise), so the count comes out at the end of the window even
 * when nothing follows; {@linkcode LogBudget.close} clears it.
 *
 * @example
 * ```ts
 * using budget = new LogBudget({ onSummary: (n) => log.warn("query handler failed", { not_logged: n }) });
 * const skipped = budget.take();
 * if (skipped !== undefined) log.warn("query handler failed", skipped ? { not_logged: skipped } : {});
 * ```
 */
export class LogBudget implements Disposable {
  readonly #lines: number;
  readonly #windowMs: number;
  readonly #clock: BudgetClock;
  readonly #onSummary: ((notLogged: number, kind: string) => void) | undefined;
  #windowStart = -Infinity;
  #used = 0;
  /** Lines not logged since the last line let through, by kind. */
  readonly #skipped = new Map<string, number>();
  #timer: ClockTimer | undefined;
  #closed = false;

  constructor(options: LogBudgetOptions = {}) {
    this.#lines = options.lines ?? 10;
    this.#windowMs = options.windowMs ?? 10_000;
    this.#clock = options.clock ?? systemBudgetClock;
    this.#onSummary = options.onSummary;
  }

  /**
   * Takes one line from the budget. Returns `undefined` when the line is not
   * to be logged (it is counted under `kind`, the line's fixed message when
   * several share the budget), else how many were not logged since the
   * last line let through (usually 0).
   */
  take(kind = ""): number | undefined {
    const now = this.#clock.now();
    if (now - this.#windowStart >= this.#windowMs) {
      this.#windowStart = now;
      this.#used = 0;
    }
    if (this.#used >= this.#lines) {
      this.#skipped.set(kind, (this.#skipped.get(kind) ?? 0) + 1);
      if (this.#onSummary && !this.#timer && !this.#closed) {
        this.#timer = this.#clock.after(
          this.#windowStart + this.#windowMs - now,
          () => this.#summarise(),
        );
      }
      return undefined;
    }
    this.#used++;
    let skipped = 0;
    for (const n of this.#skipped.values()) skipped += n;
    this.#skipped.clear();
    this.#clearTimer();
    return skipped;
  }

  /** Tells what is still not logged (`onSummary`) and clears the timer. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#summarise();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  #summarise(): void {
    this.#clearTimer();
    const skipped = [...this.#skipped];
    this.#skipped.clear();
    if (this.#onSummary) { for (const [kind, n] of skipped) this.#onSummary(n, kind); }
  }

  #clearTimer(): void {
    this.#timer?.clear();
    this.#timer = undefined;
  }
}
