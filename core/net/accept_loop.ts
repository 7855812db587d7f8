import { errorText, LogBudget, type Logger, nullLogger } from "../log/mod.ts";
import { delay } from "../async/mod.ts";

/** Options for {@linkcode AcceptTrouble}. */
export interface AcceptTroubleOptions {
  /** Logger for the out-of-descriptors warning and the recovery line. Default: silent. */
  logger?: Logger;
  /** First back-off after a failed accept, ms. Default 5. */
  minBackoffMs?: number;
  /** Longest back-off, ms. Default 1000. */
  maxBackoffMs?: number;
  /**
   * The warning and the recovery line are logged at most once per this many
   * ms; at its end, one left out is told again with `not_logged`. Default 60000.
   */
  quietMs?: number;
}

const RECOVERED = "accepting connections again";

const EMFILE = /too many open files|EMFILE|ENFILE|file table overflow/i;

/**
 * Failed accepts told to the operator without a log storm, and the back-off
 * they call for: one warning (naming a shortage of file descriptors when it
 * is one) at most once per `quietMs` however often it flaps, one info line
 * when connections are taken again, and a pause before the next accept
 * that doubles with each failure. {@linkcode AcceptTrouble.close} clears
 * the timer that tells, at the end of `quietMs`, how many were left out.
 */
export class AcceptTrouble {
  readonly #log: Logger;
  readonly #warnings: LogBudget;
  readonly #recoveries: LogBudget;
  readonly #min: number;
  readonly #max: number;
  #failures = 0;
  #backoff = 0;

  constructor(options: AcceptTroubleOptions = {}) {
    this.#log = options.logger ?? nullLogger;
    const once = {
      lines: 1,
      windowMs: options.quietMs ?? 60_000,
      // the kind is the line's message: the summary is that line with `not_logged`
      onSummary: (notLogged: number, message: string) =>
        this.#log.warn(message, { not_logged: notLogged }),
    };
    this.#warnings = new LogBudget(once);
    this.#recoveries = new LogBudget({
      ...once,
      onSummary: (notLogged) => this.#log.info(RECOVERED, { not_logged: notLogged }),
    });
    this.#min = options.minBackoffMs ?? 5;
    this.#max = options.maxBackoffMs ?? 1000;
  }

  /**
   * A connection could not be taken. `message` is the error's;
   * `outOfDescriptors` says it was a shortage of file descriptors when the
   * message does not (default: read from the message).
   */
  failed(message: string, outOfDescriptors = EMFILE.test(message)): void {
    this.#failures++;
    this.#backoff = this.#backoff === 0 ? this.#min : Math.min(this.#max, this.#backoff * 2);
    const line = outOfDescriptors
      ? "cannot accept connections: out of file descriptors (raise the limit with ulimit -n or LimitNOFILE); retrying with back-off"
      : "cannot accept a connection; retrying with back-off";
    const notLogged = this.#warnings.take(line);
    if (notLogged === undefined) return;
    this.#log.warn(line, { error: message, ...(notLogged > 0 ? { not_logged: notLogged } : {}) });
  }

  /** A connection was taken: after failures, says so (at most once per `quietMs`). */
  ok(): void {
    this.#backoff = 0;
    if (this.#failures === 0) return;
    const notLogged = this.#recoveries.take();
    if (notLogged !== undefined) {
      this.#log.info(RECOVERED, {
        failed_accepts: this.#failures,
        ...(notLogged > 0 ? { not_logged: notLogged } : {}),
      });
    }
    this.#failures = 0;
  }

  /** Tells the lines still left out and clears their timers (the server closed). Idempotent. */
  close(): void {
    this.#warnings.close();
    this.#recoveries.close();
  }

  /** Waits out the back-off the failures so far call for (none after {@linkcode ok}). */
  async pause(): Promise<void> {
    if (this.#backoff > 0) await delay(this.#backoff);
  }
}

/**
 * Accepts connections from `listener` until it is closed, handing each to
 * `onConnection` without awaiting it. A failed accept (EMFILE/ENFILE when
 * the process or system is out of file descriptors, or any transient error)
 * never ends the loop: it is told to `trouble`, which logs it without a
 * storm and sets the back-off waited before the next accept. Whoever takes
 * the connections further calls {@linkcode AcceptTrouble.ok} once one is
 * really taken (the TCP listener, after the descriptor's duplicate, which
 * fails the same way when descriptors run out).
 * Resolves once the listener is closed.
 */
export async function acceptLoop(
  listener: Deno.Listener,
  onConnection: (conn: Deno.Conn) => void,
  trouble: AcceptTrouble,
): Promise<void> {
  while (true) {
    await trouble.pause();
    let conn: Deno.Conn;
    try {
      conn = await listener.accept();
    } catch (err) {
      if (err instanceof Deno.errors.BadResource || err instanceof Deno.errors.Interrupted) return;
      trouble.failed(errorText(err));
      continue;
    }
    onConnection(conn);
  }
}
