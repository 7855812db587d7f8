import { type Logger, nullLogger } from "../log/mod.ts";
import { delay } from "../async/mod.ts";

/** Options for {@linkcode acceptLoop}. */
export interface AcceptLoopOptions {
  /** Logger for the out-of-descriptors warning and the recovery line. Default: silent. */
  logger?: Logger;
  /** First back-off after a failed accept, ms. Default 5. */
  minBackoffMs?: number;
  /** Longest back-off, ms. Default 1000. */
  maxBackoffMs?: number;
  /** The warning and the recovery line are logged at most once per this many ms. Default 60000. */
  quietMs?: number;
}

const EMFILE = /too many open files|EMFILE|ENFILE|file table overflow/i;

/**
 * Accepts connections from `listener` until it is closed, handing each to
 * `onConnection` without awaiting it. A failed accept (EMFILE/ENFILE when
 * the process or system is out of file descriptors, or any transient error)
 * never ends the loop: it backs off (doubling up to `maxBackoffMs`), logs
 * at warn (at most once per `quietMs`, however often it flaps), and logs at
 * info when accepting works again.
 * Resolves once the listener is closed.
 */
export async function acceptLoop(
  listener: Deno.Listener,
  onConnection: (conn: Deno.Conn) => void,
  options: AcceptLoopOptions = {},
): Promise<void> {
  const log = options.logger ?? nullLogger;
  const min = options.minBackoffMs ?? 5;
  const max = options.maxBackoffMs ?? 1000;
  const quietMs = options.quietMs ?? 60_000;
  let backoff = 0;
  let failures = 0;
  let warnedAt = -Infinity;
  let recoveredAt = -Infinity;
  while (true) {
    let conn: Deno.Conn;
    try {
      conn = await listener.accept();
    } catch (err) {
      if (err instanceof Deno.errors.BadResource || err instanceof Deno.errors.Interrupted) return;
      const message = err instanceof Error ? err.message : String(err);
      failures++;
      if (Date.now() - warnedAt >= quietMs) {
        warnedAt = Date.now();
        log.warn(
          EMFILE.test(message)
            ? "cannot accept connections: out of file descriptors (raise the limit with ulimit -n or LimitNOFILE); retrying with back-off"
            : "cannot accept a connection; retrying with back-off",
          { error: message },
        );
      }
      backoff = backoff === 0 ? min : Math.min(max, backoff * 2);
      await delay(backoff);
      continue;
    }
    if (failures > 0) {
      if (Date.now() - recoveredAt >= quietMs) {
        recoveredAt = Date.now();
        log.info("accepting connections again", { failed_accepts: failures });
      }
      failures = 0;
      backoff = 0;
    }
    onConnection(conn);
  }
}
