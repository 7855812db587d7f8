/** Options of {@linkcode delay}. */
export interface DelayOptions {
  /** Ends the wait early: the promise rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Keep the process alive while waiting (default `true`); `false` unrefs the timer. */
  persistent?: boolean;
}

/**
 * Resolves after `ms` milliseconds. With a `signal`, an abort ends the wait at
 * once and rejects with `signal.reason`; the timer and the abort listener are
 * always removed, so a loop that waits on the same long-lived signal many
 * times holds nothing.
 *
 * @example
 * ```ts
 * await delay(100);
 * await delay(5000, { signal }).catch(() => {}); // a backoff that stops on shutdown
 * ```
 */
export function delay(ms: number, options: DelayOptions = {}): Promise<void> {
  const { signal, persistent = true } = options;
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    if (!persistent) Deno.unrefTimer(timer);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * Waits for `promise` at most `ms` milliseconds. Resolves `true` when it
 * settled in time (its rejection is not rethrown: await it yourself for the
 * value or the error), `false` when the time ran out. The timer is cleared
 * either way, so an idle process can exit at once.
 *
 * @example
 * ```ts
 * if (!await settlesWithin(tasks, 5000)) for (const c of conns) c.destroy();
 * ```
 */
export async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise.then(() => true, () => true),
      new Promise<boolean>((resolve) => timer = setTimeout(() => resolve(false), ms)),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
