import { LogBudget, type LogFields, type Logger, nullLogger } from "../log/mod.ts";
import { type Connection, describePeer, type PeerIdentity } from "../net/mod.ts";
import { JsonStreamFramer } from "../net/framing/mod.ts";
import { delay } from "../async/mod.ts";
import type { Layout } from "./layout.ts";
import type { IngestMetrics } from "./metrics.ts";
import { AckPolicy } from "./_ack_policy.ts";
import { ObjectIntake, type Refusal } from "./_object_intake.ts";
import type { BatchWriter } from "./_writer.ts";

/** Options for {@linkcode IngestSession}. */
export interface SessionOptions {
  /** Where accepted objects go. */
  writer: BatchWriter;
  /** Storage layout. */
  layout: Layout;
  /** Key prefix (kv layout). Default `""`. */
  keyPrefix?: string;
  /** Full stream key (stream layout). Default `"ingest"`. */
  streamKey?: string;
  /** `MAXLEN ~` for the stream layout. Default: none. */
  streamMaxlen?: number;
  /** Largest object in bytes. Default 1 MiB. */
  maxPayload?: number;
  /** Write `{"ok":N}` / `{"error":...}` lines. Default `false` (the server stays silent). */
  ack?: boolean;
  /** Counters. Default: none. */
  metrics?: IngestMetrics;
  /** Logger. Default: silent. */
  logger?: Logger;
  /**
   * The budget of rejected-input lines (`rejected input`, `bad input`, a value
   * cut short at EOF), shared by every session of a server so that a client
   * reconnecting in a loop cannot grow the log either (its owner closes it;
   * make it with {@linkcode rejectBudget}). Default: the session's own,
   * closed when the session ends.
   */
  rejectLog?: LogBudget;
}

/**
 * A budget for an ingest server's rejected-input lines: 10 per 10 s; when
 * none follows, each message left out is told again at the end of the
 * window with `not_logged`, the count of that message's lines left out.
 */
export function rejectBudget(log: Logger): LogBudget {
  return new LogBudget({
    onSummary: (notLogged, message) => log.warn(message, { not_logged: notLogged }),
  });
}

/** Bytes framed between yields to the event loop. */
const SLICE = 64 * 1024;
/** Received bytes held before the socket is paused. */
const INBOX_MAX = 256 * 1024;

/** The identity stored with stream entries: certificate CN, else fingerprint, else address. */
function clientLabel(peer: PeerIdentity): string {
  return peer.cn ?? peer.fingerprint ?? `${peer.address}:${peer.port}`;
}

/**
 * One client connection of the ingest server: pumps the byte stream through
 * the JSON framer into {@linkcode ObjectIntake} (each object's commands to
 * the writer) and pauses the socket while the writer is over its high-water
 * mark. A value that is not an object is rejected (logged within the
 * `rejectLog` budget, `{"error":...}` with `--ack`) and the connection
 * continues; malformed JSON or a value over `maxPayload` stops reading,
 * waits until everything before it is stored, then closes. At EOF (also a
 * half-close: the client may still read) or when the server drains, it waits
 * for its objects to be stored, sends a final `{"ok":N}` (with `ack`, see
 * {@linkcode AckPolicy}) and closes.
 */
export class IngestSession {
  readonly #conn: Connection;
  readonly #metrics: IngestMetrics | undefined;
  readonly #writer: BatchWriter;
  readonly #log: Logger;
  readonly #rejectLog: LogBudget;
  /** The session made `#rejectLog` (none was given) and closes it. */
  readonly #ownsRejectLog: boolean;
  readonly #framer: JsonStreamFramer;
  readonly #acks: AckPolicy;
  readonly #intake: ObjectIntake;
  readonly #onValue = (bytes: Uint8Array) => this.#take(bytes);
  #stopped = false;
  #readPaused = false;
  #finishing = false;
  #inbox: Uint8Array[] = [];
  #inboxBytes = 0;
  #pumping: Promise<void> | undefined;
  #pumpActive = false;

  constructor(conn: Connection, options: SessionOptions) {
    this.#conn = conn;
    this.#metrics = options.metrics;
    this.#writer = options.writer;
    this.#log = (options.logger ?? nullLogger).child({ peer: describePeer(conn.peer) });
    this.#ownsRejectLog = options.rejectLog === undefined;
    this.#rejectLog = options.rejectLog ?? rejectBudget(this.#log);
    this.#framer = new JsonStreamFramer({ maxValueBytes: options.maxPayload ?? 1024 * 1024 });
    this.#acks = new AckPolicy((line) => conn.write(line), { ack: options.ack ?? false });
    this.#intake = new ObjectIntake({
      writer: options.writer,
      owner: this.#acks,
      layout: options.layout,
      keyPrefix: options.keyPrefix ?? "",
      stream: {
        key: options.streamKey ?? "ingest",
        client: clientLabel(conn.peer),
        ...(options.streamMaxlen !== undefined ? { maxlen: options.streamMaxlen } : {}),
      },
    });
  }

  /** Objects accepted on this connection. */
  get accepted(): number {
    return this.#acks.accepted;
  }

  /** Objects stored (in Redis or the spool) for this connection. */
  get stored(): number {
    return this.#acks.stored;
  }

  /** Runs the session until the client leaves, input is bad, or `signal` aborts (drain). */
  async run(signal: AbortSignal): Promise<void> {
    const m = this.#metrics;
    if (m) {
      m.connectionsTotal++;
      m.connectionsOpen++;
    }
    try {
      let finish!: (why: string) => void;
      const finished = new Promise<string>((resolve) => finish = resolve);
      // Start reading (the listener hands over a connection that is not yet read).
      this.#conn.receive({
        data: (chunk) => {
          if (this.#stopped) return;
          // A plain view: slicing a node Buffer (what sockets deliver) builds a
          // Buffer each time, which showed at ≈ 7% of the main thread.
          this.#inbox.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length));
          this.#inboxBytes += chunk.length;
          if (this.#inboxBytes > INBOX_MAX) this.#pauseReading();
          if (!this.#pumpActive) {
            this.#pumping = this.#pumpInbox().then(() => {
              if (this.#stopped) finish("bad input");
            });
          }
        },
        // EOF: our side stays open (the listener allows half-open) for the final ack.
        end: () => finish("eof"),
      });
      void this.#conn.closed.then(() => finish("closed"));
      const onAbort = () => finish("drain");
      signal.addEventListener("abort", onAbort, { once: true });
      if (signal.aborted) onAbort();
      const why = await finished;
      this.#finishing = true;
      signal.removeEventListener("abort", onAbort);
      // Everything received is processed before the session ends.
      this.#pauseReading();
      await this.#pumping;
      // A bare scalar that ends the stream is framed only now, before the stop.
      if (why === "eof") this.#flushFramer();
      this.#stop();
      await this.#acks.allSettled();
      await this.#acks.final();
      this.#log.debug("session finished", { reason: why, objects: this.#acks.accepted });
      await this.#conn.close();
    } finally {
      if (m) m.connectionsOpen--;
      if (this.#ownsRejectLog) this.#rejectLog.close();
    }
  }

  /** At EOF (reading has stopped): a value cut short is logged. */
  #flushFramer(): void {
    try {
      const dropped = this.#framer.flush(this.#onValue);
      if (dropped > 0) {
        this.#warnRejected("client closed in the middle of a value; its bytes are discarded", {
          bytes: dropped,
        });
      }
    } catch { /* the framer failed earlier; already reported */ }
  }

  #pauseReading(): void {
    if (this.#readPaused) return;
    this.#readPaused = true;
    this.#conn.pause();
  }

  #resumeReading(): void {
    if (!this.#readPaused || this.#stopped || this.#finishing) return;
    this.#readPaused = false;
    this.#conn.resume();
  }

  /**
   * Frames the received chunks in slices of `SLICE` bytes, yielding to the
   * event loop between slices (so Redis replies and other clients are served
   * while a burst is parsed) and waiting while the writer is over its
   * high-water mark or our replies wait for the client to read them (the
   * socket stays paused: TCP backpressure).
   */
  async #pumpInbox(): Promise<void> {
    // The flag is cleared in the same synchronous run that sees the inbox
    // empty (no await in between), so a chunk pushed later starts a new pump.
    this.#pumpActive = true;
    try {
      let sinceYield = 0;
      while (this.#inbox.length > 0 && !this.#stopped) {
        const chunk = this.#inbox[0]!;
        let piece = chunk;
        if (chunk.length > SLICE) {
          piece = chunk.subarray(0, SLICE);
          this.#inbox[0] = chunk.subarray(SLICE);
        } else this.#inbox.shift();
        this.#inboxBytes -= piece.length;
        this.#consume(piece);
        sinceYield += piece.length;
        if (this.#stopped) break;
        if (this.#writer.overloaded) {
          this.#pauseReading();
          await this.#writer.belowLowWater();
          sinceYield = 0;
        } else if (this.#conn.congested) {
          // The client does not read its acknowledgements and error lines (each bad value gets
          // one, 20 times its bytes): stop reading until it does, so what it makes us hold stays
          // one slice's replies, not every line it could provoke.
          this.#pauseReading();
          await this.#conn.drained();
          sinceYield = 0;
        } else if (sinceYield >= SLICE && this.#inbox.length > 0) {
          // A timer (not an immediate) so that pending I/O, such as Redis
          // replies, is polled before the next slice.
          await delay(0);
          sinceYield = 0;
        }
      }
      if (this.#stopped) {
        this.#inbox = [];
        this.#inboxBytes = 0;
      } else this.#resumeReading();
    } finally {
      this.#pumpActive = false;
    }
  }

  #consume(piece: Uint8Array): void {
    this.#intake.begin(piece);
    try {
      this.#framer.push(piece, this.#onValue);
    } catch (err) {
      this.#bad(err as Error);
    }
    this.#intake.end();
  }

  #stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#conn.pause();
  }

  #take(bytes: Uint8Array): void {
    if (this.#stopped) return;
    const refusal = this.#intake.take(bytes);
    if (refusal === undefined) {
      this.#acks.accept();
      if (this.#metrics) this.#metrics.objectsReceived++;
    } else this.#refused(refusal);
  }

  #refused(r: Refusal): void {
    if (r.kind === "bad") {
      this.#bad(r.error);
      return;
    }
    if (this.#metrics) this.#metrics.objectsRejected++;
    this.#warnRejected("rejected input", {
      reason: r.reason,
      fingerprint: this.#conn.peer.fingerprint,
      sample: r.text.length > 80 ? r.text.slice(0, 80) + "..." : r.text,
    });
    this.#acks.error(r.reason);
  }

  /**
   * A line a client causes at will (one per value it sends, or per
   * connection), logged only within the server's budget; the next line let
   * through says how many were not (`not_logged`).
   */
  #warnRejected(message: string, fields: LogFields): void {
    const notLogged = this.#rejectLog.take(message);
    if (notLogged === undefined) return;
    this.#log.warn(message, { ...fields, ...(notLogged > 0 ? { not_logged: notLogged } : {}) });
  }

  /** Malformed or oversized input: stop reading; `run` stores what came before, then closes. */
  #bad(err: Error): void {
    if (this.#stopped) return;
    if (this.#metrics) this.#metrics.objectsRejected++;
    this.#warnRejected("bad input: closing the connection after storing what came before", {
      error: err.message,
      fingerprint: this.#conn.peer.fingerprint,
      stored_before: this.#acks.accepted,
    });
    this.#stop();
    this.#acks.error(err.message);
  }
}
