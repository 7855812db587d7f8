import { type Logger, nullLogger } from "../log/mod.ts";

/** Options for {@linkcode BroadcastTimer}. */
export interface BroadcastTimerOptions {
  /** Time between broadcasts, ms (required, > 0). */
  periodMs: number;
  /** Logs `broadcast timer started` / `broadcast timer stopped` at debug. Default: silent. */
  logger?: Logger;
}

/**
 * A periodic timer that runs only while there is someone to broadcast to:
 * {@linkcode BroadcastTimer.update} with the client count starts it when
 * the count rises above zero and stops it when the count falls to zero, so
 * an idle server does no broadcast work at all. The first tick comes one
 * period after the timer starts.
 *
 * @example
 * ```ts
 * using timer = new BroadcastTimer(() => sendDateToAll(), { periodMs: 10_000 });
 * timer.update(clients.size); // after every connect and disconnect
 * ```
 */
export class BroadcastTimer implements Disposable {
  readonly #tick: () => void;
  readonly #periodMs: number;
  readonly #log: Logger;
  #interval: ReturnType<typeof setInterval> | undefined;
  #ticks = 0;

  constructor(tick: () => void, options: BroadcastTimerOptions) {
    if (!(options.periodMs > 0) || !Number.isFinite(options.periodMs)) {
      throw new RangeError(`Invalid broadcast period: expected ms > 0, got ${options.periodMs}`);
    }
    this.#tick = tick;
    this.#periodMs = options.periodMs;
    this.#log = options.logger ?? nullLogger;
  }

  /** Whether the timer is currently scheduled. */
  get running(): boolean {
    return this.#interval !== undefined;
  }

  /** How many times the tick has run since construction. */
  get ticks(): number {
    return this.#ticks;
  }

  /** Starts the timer for a positive client count, stops it for zero. */
  update(clients: number): void {
    if (clients > 0 && this.#interval === undefined) {
      this.#interval = setInterval(() => {
        this.#ticks++;
        this.#tick();
      }, this.#periodMs);
      this.#log.debug("broadcast timer started", { clients, periodMs: this.#periodMs });
    } else if (clients <= 0) {
      this.stop();
    }
  }

  /** Stops the timer (idempotent). */
  stop(): void {
    if (this.#interval === undefined) return;
    clearInterval(this.#interval);
    this.#interval = undefined;
    this.#log.debug("broadcast timer stopped");
  }

  [Symbol.dispose](): void {
    this.stop();
  }
}
