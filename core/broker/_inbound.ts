import { LogBudget, type Logger } from "../log/mod.ts";
import type { FileReceiver } from "./files.ts";
import type { SendOptions } from "./api.ts";
import { SeenIds } from "./dedupe.ts";
import type { Listeners } from "./_listeners.ts";
import type { PendingReplies } from "./_pending.ts";
import { fileNameOf } from "./_file_names.ts";

const FILE_REFUSED = "file refused";

/** What {@linkcode Inbound} hands messages to. */
export interface InboundOptions {
  log: Logger;
  listeners: Listeners;
  pending: PendingReplies;
  files: FileReceiver;
  /** Directory of the per-sender received-id logs. */
  seenDir: string;
  /** `fdatasync` the received-id logs. */
  fsync: boolean;
  /** Sends the answer to a file sender (the router's `send`). */
  send(dst: string, type: string, data: unknown, options: SendOptions): Promise<string>;
}

/**
 * Where link sessions hand what they receive: the listeners and queues,
 * the pending requests, the file receiver, and one received-id window per
 * proven sender that survives restarts.
 */
export class Inbound {
  readonly listeners: Listeners;
  readonly pending: PendingReplies;
  readonly files: FileReceiver;
  readonly #opts: InboundOptions;
  readonly #seen = new Map<string, SeenIds>();
  /**
   * Refused file chunks are logged 10 per 10 s: a peer can send any number
   * (the count left out is told with the next line, or at the end of the window).
   */
  readonly #fileRefusals: LogBudget;

  constructor(opts: InboundOptions) {
    this.#opts = opts;
    this.#fileRefusals = new LogBudget({
      onSummary: (notLogged) => opts.log.warn(FILE_REFUSED, { not_logged: notLogged }),
    });
    this.listeners = opts.listeners;
    this.pending = opts.pending;
    this.files = opts.files;
  }

  /** Loads the received-id window of proven sender `peer` (before its link is attached). */
  async open(peer: string): Promise<void> {
    if (this.#seen.has(peer)) return;
    const s = new SeenIds(`${this.#opts.seenDir}/${fileNameOf(peer)}`, {
      peer,
      fsync: this.#opts.fsync,
    });
    await s.load();
    if (!this.#seen.has(peer)) this.#seen.set(peer, s);
  }

  /** The received-id window of `peer`, once opened. */
  seenOf(peer: string): SeenIds | undefined {
    return this.#seen.get(peer);
  }

  /** Sends an answer: how a file transfer ended, whether a subscription was taken. */
  answer(to: string, type: string, transfer: string, answer: object): void {
    this.#opts.send(to, type, answer, { replyTo: transfer }).catch((err) =>
      this.#opts.log.warn("cannot answer file sender", { error: (err as Error).message })
    );
  }

  /** Logs a refused file chunk (within the log budget). */
  fileRefused(fields: Record<string, unknown>): void {
    const skipped = this.#fileRefusals.take();
    if (skipped === undefined) return;
    this.#opts.log.warn(FILE_REFUSED, skipped ? { ...fields, not_logged: skipped } : fields);
  }

  /** Stores pending received ids and closes their logs. */
  async close(): Promise<void> {
    this.#fileRefusals.close();
    await Promise.all([...this.#seen.values()].map((s) => s.close()));
  }
}
