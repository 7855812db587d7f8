/** Signals that start a graceful drain. */
export const SHUTDOWN_SIGNALS = ["SIGINT", "SIGTERM"] as const;

/** Something that can be closed gracefully (every sockkit server). */
export interface Closable {
  close(): Promise<void>;
}

/**
 * Returns an `AbortSignal` that aborts on the first SIGINT or SIGTERM, with
 * the signal name as its reason. The handlers are removed once it fires or
 * when `dispose()` is called.
 */
export function shutdownSignal(): AbortSignal & Disposable {
  const ctl = new AbortController();
  const handlers = SHUTDOWN_SIGNALS.map((sig) => {
    const h = () => {
      remove();
      ctl.abort(sig);
    };
    Deno.addSignalListener(sig, h);
    return [sig, h] as const;
  });
  let removed = false;
  const remove = () => {
    if (removed) return;
    removed = true;
    for (const [sig, h] of handlers) Deno.removeSignalListener(sig, h);
  };
  return Object.assign(ctl.signal, { [Symbol.dispose]: remove });
}

/** Options for {@linkcode serveUntilSignal}. */
export interface ServeUntilSignalOptions {
  /** Called with the signal name before the drain starts. */
  onSignal?: (signal: string) => void;
  /** A promise that, when it settles, also ends serving (for example a server that died). */
  done?: Promise<unknown>;
  /**
   * Called once SIGINT/SIGTERM are handled: log "listening" here, so a
   * supervisor that stops the daemon as soon as it reads that line gets a
   * graceful drain, not the default signal death.
   */
  started?: () => void;
}

/**
 * Waits for SIGINT/SIGTERM (or `options.done`), then closes `server`
 * gracefully. Resolves after the drain; the caller then exits 0.
 *
 * @example
 * ```ts
 * await using server = await startIngest(opts);
 * await serveUntilSignal(server, { onSignal: (s) => log.info("draining", { signal: s }) });
 * ```
 */
export async function serveUntilSignal(
  server: Closable,
  options: ServeUntilSignalOptions = {},
): Promise<void> {
  using signal = shutdownSignal();
  options.started?.();
  const aborted = new Promise<void>((resolve) =>
    signal.addEventListener("abort", () => resolve(), { once: true })
  );
  await Promise.race([aborted, options.done ?? new Promise(() => {})]);
  if (signal.aborted) options.onSignal?.(String(signal.reason));
  await server.close();
}
