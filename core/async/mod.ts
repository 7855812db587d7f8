/**
 * Async helpers used everywhere instead of hand-written timer promises:
 * {@linkcode delay} (a wait that an `AbortSignal` ends and that never leaks
 * its listener) and {@linkcode settlesWithin} (wait for a promise at most so
 * long), and the {@linkcode Clock} that timed code runs on ({@linkcode systemClock};
 * {@linkcode FakeClock} for tests, moved by hand). For a deferred promise, use
 * the platform's `Promise.withResolvers()`.
 *
 * @module
 */
export * from "./delay.ts";
export * from "./clock.ts";
export * from "./fake_clock.ts";
