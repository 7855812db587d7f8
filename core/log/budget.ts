/**
 * A log budget: at most so many lines of one kind per time window, for
 * lines a peer can cause at will (one per request it sends). What is over
 * the budget is counted, and the next line let through says how many.
 */

/** Options for {@linkcode LogBudget}. */
export interface LogBudgetOptions {
  /** Lines let through per window. Default 10. */
  lines?: number;
  /** Window length, ms. Default 10000. */
  windowMs?: number;
  /** The clock, ms. Default `Date.now`. */
  now?: () => number;
}

/**
 * Decides, line by line, whether a line of one kind is logged.
 *
 * @example
 * ```ts
 * const budget = new LogBudget();
 * const skipped = budget.take();
 * if (skipped !== undefined) log.warn("query handler failed", skipped ? { not_logged: skipped } : {});
 * ```
 */
export class LogBudget {
  readonly #lines: number;
  readonly #windowMs: number;
  readonly #now: () => number;
  #windowStart = -Infinity;
  #used = 0;
  #skipped = 0;

  constructor(options: LogBudgetOptions = {}) {
    this.#lines = options.lines ?? 10;
    this.#windowMs = options.windowMs ?? 10_000;
    this.#now = options.now ?? Date.now;
  }

  /**
   * Takes one line from the budget. Returns `undefined` when the line is not
   * to be logged (it is counted), else how many were not logged since the
   * last line let through (usually 0).
   */
  take(): number | undefined {
    const now = this.#now();
    if (now - this.#windowStart >= this.#windowMs) {
      this.#windowStart = now;
      this.#used = 0;
    }
    if (this.#used >= this.#lines) {
      this.#skipped++;
      return undefined;
    }
    this.#used++;
    const skipped = this.#skipped;
    this.#skipped = 0;
    return skipped;
  }
}
