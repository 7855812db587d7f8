import type { Clock, ClockTimer } from "./clock.ts";

interface Pending {
  at: number;
  every: number;
  fn: () => void;
  live: boolean;
}

/**
 * A {@linkcode Clock} for tests: time stands still until
 * {@linkcode FakeClock.advance} moves it, running every timer that falls due
 * on the way, in time order, each at its own time.
 */
export class FakeClock implements Clock {
  #now: number;
  #timers: Pending[] = [];

  constructor(start = 1_000_000) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  after(ms: number, fn: () => void): ClockTimer {
    return this.#add(ms, 0, fn);
  }

  every(ms: number, fn: () => void): ClockTimer {
    return this.#add(ms, ms, fn);
  }

  #add(ms: number, every: number, fn: () => void): ClockTimer {
    const t: Pending = { at: this.#now + Math.max(0, ms), every, fn, live: true };
    this.#timers.push(t);
    return { clear: () => void (t.live = false) };
  }

  /** Timers not yet run or cleared. */
  get pending(): number {
    return this.#timers.filter((t) => t.live).length;
  }

  /** Moves time on by `ms`, running the timers due on the way. */
  advance(ms: number): void {
    const end = this.#now + ms;
    while (true) {
      this.#timers = this.#timers.filter((t) => t.live);
      const due = this.#timers.filter((t) => t.at <= end).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      this.#now = due.at;
      if (due.every > 0) due.at += due.every;
      else due.live = false;
      due.fn();
    }
    this.#now = end;
  }
}
