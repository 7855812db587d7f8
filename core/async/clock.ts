/** A timer started by a {@linkcode Clock}. */
export interface ClockTimer {
  /** Stops the timer (idempotent). */
  clear(): void;
}

/**
 * The time and timers that timed code runs on (a broker link's heartbeats,
 * ping timeouts and held acknowledgements; a log budget's window). Code
 * uses {@linkcode systemClock}; tests pass a {@linkcode FakeClock} to drive
 * timers without waiting.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Calls `fn` once after `ms` ms. */
  after(ms: number, fn: () => void): ClockTimer;
  /** Calls `fn` every `ms` ms until cleared; does not keep the process alive. */
  every(ms: number, fn: () => void): ClockTimer;
}

/** The longest delay `setTimeout` keeps (2^31 - 1 ms, 24.8 days); a longer one fires at once. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * The real clock: `Date.now()`, `setTimeout` (re-armed in steps of
 * {@linkcode MAX_TIMER_MS}, so a timeout of weeks waits weeks instead of
 * firing at once) and an unreferenced `setInterval`.
 */
export const systemClock: Clock = {
  now: () => Date.now(),
  after(ms, fn) {
    let t: ReturnType<typeof setTimeout>;
    const arm = (left: number) => {
      t = left > MAX_TIMER_MS
        ? setTimeout(() => arm(left - MAX_TIMER_MS), MAX_TIMER_MS)
        : setTimeout(fn, left);
    };
    arm(ms);
    return { clear: () => clearTimeout(t) };
  },
  every(ms, fn) {
    const t = setInterval(fn, ms);
    Deno.unrefTimer(t);
    return { clear: () => clearInterval(t) };
  },
};
