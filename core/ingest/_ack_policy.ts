import type { Settlement, WriteOwner } from "./_writer.ts";

/** Options for {@linkcode AckPolicy}. */
export interface AckPolicyOptions {
  /** Write `{"ok":N}` / `{"error":...}` lines. Default `false` (the server stays silent). */
  ack?: boolean;
}

/**
 * One connection's ledger and acknowledgement policy. It counts the objects
 * accepted, stored (in Redis or the spool) and refused by Redis; with `ack`
 * it writes `{"ok":N}` (N = stored so far, `"spooled":M` added once M of them
 * went through the disk spool; M never goes down) after batches settle, one line for all that settle
 * in the same turn and only when N changed, a `{"error":...}` line per Redis
 * refusal and per rejected input, and a final `{"ok":N}` when the connection ends. Without `ack` it
 * never writes.
 *
 * @example
 * ```ts
 * const acks = new AckPolicy((line) => conn.write(line), { ack: true });
 * acks.accept();
 * writer.add(acks, encode); // the writer calls acks.settled(...)
 * await acks.allSettled();
 * await acks.final();
 * ```
 */
export class AckPolicy implements WriteOwner {
  readonly #write: (line: string) => Promise<void>;
  readonly #ack: boolean;
  #accepted = 0;
  #stored = 0;
  #spooled = 0;
  #failed = 0;
  #ackScheduled = false;
  #lastAck = -1;
  #settleWaiters: Array<() => void> = [];

  constructor(write: (line: string) => Promise<void>, options: AckPolicyOptions = {}) {
    this.#write = write;
    this.#ack = options.ack ?? false;
  }

  /** Objects accepted on this connection. */
  get accepted(): number {
    return this.#accepted;
  }

  /** Objects stored (in Redis or the spool) for this connection. */
  get stored(): number {
    return this.#stored;
  }

  /** Counts one more object handed to the writer. */
  accept(): void {
    this.#accepted++;
  }

  /** With `ack`, tells the client why its input was refused: `{"error":message}`. */
  error(message: string): void {
    if (this.#ack) void this.#write(JSON.stringify({ error: message }) + "\n");
  }

  /** With `ack`, writes the last `{"ok":N}`; resolves when it is written (at once without `ack`). */
  final(): Promise<void> {
    return this.#ack ? this.#write(this.#line()) : Promise.resolve();
  }

  /** Resolves once every accepted object is stored or refused by Redis. */
  allSettled(): Promise<void> {
    if (this.#stored + this.#failed >= this.#accepted) return Promise.resolve();
    return new Promise((resolve) => this.#settleWaiters.push(resolve));
  }

  /** @internal Called by the writer. */
  settled(outcome: Settlement): void {
    const { stored, failed } = outcome;
    this.#stored += stored;
    if (outcome.spooled) this.#spooled += stored;
    this.#failed += failed;
    if (failed > 0 && this.#ack) {
      void this.#write(
        JSON.stringify({ error: `Redis refused the write: ${outcome.reason}`, failed }) + "\n",
      );
    }
    if (this.#ack && !this.#ackScheduled) {
      this.#ackScheduled = true;
      queueMicrotask(() => {
        this.#ackScheduled = false;
        if (this.#stored !== this.#lastAck) {
          this.#lastAck = this.#stored;
          void this.#write(this.#line());
        }
      });
    }
    if (this.#stored + this.#failed >= this.#accepted && this.#settleWaiters.length > 0) {
      const w = this.#settleWaiters;
      this.#settleWaiters = [];
      for (const f of w) f();
    }
  }

  /** `{"ok":N}`: N objects durably stored; `"spooled":M` of them went through the disk spool. */
  #line(): string {
    return this.#spooled > 0
      ? `{"ok":${this.#stored},"spooled":${this.#spooled}}\n`
      : `{"ok":${this.#stored}}\n`;
  }
}
