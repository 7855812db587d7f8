import { type Logger, nullLogger } from "../log/mod.ts";
import { type Connection, describePeer, type PeerIdentity } from "../net/mod.ts";
import { JsonStreamFramer } from "../net/framing/mod.ts";
import {
  encodeKvMembers,
  encodeStream,
  type Layout,
  type Members,
  splitMembers,
} from "./layout.ts";
import { encodeKvBytes, NOT_FAST } from "./kv_bytes.ts";
import type { IngestMetrics } from "./metrics.ts";
import type { BatchWriter, WriteOwner } from "./writer.ts";
import { delay } from "../async/mod.ts";

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
}

const OPEN_BRACE = 0x7b;
/** Bytes framed between yields to the event loop. */
const SLICE = 64 * 1024;
/** Received bytes held before the socket is paused. */
const INBOX_MAX = 256 * 1024;

function kindOf(v: unknown): string {
  return v === null ? "null" : Array.isArray(v) ? "array" : typeof v;
}

/** The identity stored with stream entries: certificate CN, else fingerprint, else address. */
export function clientLabel(peer: PeerIdentity): string {
  return peer.cn ?? peer.fingerprint ?? `${peer.address}:${peer.port}`;
}

/**
 * One client connection of the ingest server: frames the byte stream into
 * JSON values, hands each object's commands to the writer, and pauses the
 * socket while the writer is over its high-water mark. A value that is not
 * an object is rejected (logged, `{"error":...}` with `--ack`) and the
 * connection continues; malformed JSON or a value over `maxPayload` stops
 * reading, waits until everything before it is stored, then closes. At EOF
 * or when the server drains, it waits for its objects to be stored, sends a
 * final `{"ok":N}` (with `ack`) and closes.
 */
export class IngestSession implements WriteOwner {
  readonly #conn: Connection;
  readonly #o: SessionOptions;
  readonly #log: Logger;
  readonly #framer: JsonStreamFramer;
  readonly #decoder = new TextDecoder("utf-8", { fatal: true });
  readonly #loose = new TextDecoder("utf-8");
  /**
   * The chunk being framed, its text (decoded when an object first needs it)
   * and whether it is pure ASCII (byte i = char i).
   */
  #chunk: Uint8Array | undefined;
  #chunkText: string | undefined;
  #chunkAscii = false;
  readonly #client: string;
  readonly #prefix: string;
  readonly #prefixBytes: Uint8Array;
  readonly #prefixAscii: boolean;
  readonly #streamKey: string;
  #accepted = 0;
  #stored = 0;
  #spooled = 0;
  #failed = 0;
  #stopped = false;
  #ackScheduled = false;
  #lastAck = -1;
  #settleWaiters: Array<() => void> = [];
  #readPaused = false;
  #finishing = false;
  #inbox: Uint8Array[] = [];
  #inboxBytes = 0;
  #pumping: Promise<void> | undefined;
  #pumpActive = false;

  constructor(conn: Connection, options: SessionOptions) {
    this.#conn = conn;
    this.#o = options;
    this.#log = (options.logger ?? nullLogger).child({ peer: describePeer(conn.peer) });
    this.#framer = new JsonStreamFramer({ maxValueBytes: options.maxPayload ?? 1024 * 1024 });
    this.#client = clientLabel(conn.peer);
    this.#prefix = options.keyPrefix ?? "";
    this.#prefixBytes = new TextEncoder().encode(this.#prefix);
    this.#prefixAscii = this.#prefixBytes.length === this.#prefix.length;
    this.#streamKey = options.streamKey ?? "ingest";
  }

  /** Objects accepted on this connection. */
  get accepted(): number {
    return this.#accepted;
  }

  /** Objects stored (in Redis or the spool) for this connection. */
  get stored(): number {
    return this.#stored;
  }

  /** Runs the session until the client leaves, input is bad, or `signal` aborts (drain). */
  async run(signal: AbortSignal): Promise<void> {
    const m = this.#o.metrics;
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
      this.#stop();
      if (why === "eof") {
        try {
          const dropped = this.#framer.flush((bytes) => this.#onValue(bytes));
          if (dropped > 0) {
            this.#log.warn("client closed in the middle of a value; its bytes are discarded", {
              bytes: dropped,
            });
          }
        } catch { /* the framer failed earlier; already reported */ }
        this.#chunk = undefined;
      }
      await this.#allSettled();
      if (this.#o.ack) await this.#conn.write(this.#ackLine());
      this.#log.debug("session finished", { reason: why, objects: this.#accepted });
      await this.#conn.close();
    } finally {
      if (m) m.connectionsOpen--;
    }
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
   * high-water mark (the socket stays paused: TCP backpressure).
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
        if (this.#o.writer.overloaded) {
          this.#pauseReading();
          await this.#o.writer.belowLowWater();
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
    this.#chunk = piece;
    this.#chunkText = undefined;
    this.#chunkAscii = false;
    try {
      this.#framer.push(piece, (bytes) => this.#onValue(bytes));
    } catch (err) {
      this.#bad(err as Error);
    }
    this.#chunk = undefined;
    this.#chunkText = undefined;
  }

  #stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#conn.pause();
  }

  #onValue(bytes: Uint8Array): void {
    if (this.#stopped) return;
    const w = this.#o.writer;
    if (this.#o.layout === "kv" && bytes[0] === OPEN_BRACE) {
      // Plain ASCII objects go from bytes to RESP directly (see kv_bytes.ts).
      const prefix = this.#prefixBytes;
      const n = w.add(this, (out, wrap) => encodeKvBytes(bytes, out, { prefix, wrap }));
      if (n !== NOT_FAST) {
        this.#accepted++;
        if (this.#o.metrics) this.#o.metrics.objectsReceived++;
        return;
      }
    }
    let text: string;
    let value: unknown;
    let members: Members | undefined;
    let ascii: boolean;
    try {
      const c = this.#chunk;
      const off = c && bytes.buffer === c.buffer ? bytes.byteOffset - c.byteOffset : -1;
      if (c && off >= 0 && off + bytes.length <= c.length && this.#chunkText === undefined) {
        // One decode per chunk instead of one per object: objects inside an
        // ASCII chunk are substrings of its text.
        const t = this.#loose.decode(c);
        this.#chunkText = t;
        this.#chunkAscii = t.length === c.length && !t.includes("\uFFFD");
      }
      if (this.#chunkAscii && off >= 0 && off + bytes.length <= c!.length) {
        text = this.#chunkText!.substring(off, off + bytes.length);
        ascii = true;
      } else {
        text = this.#decoder.decode(bytes);
        ascii = text.length === bytes.length;
      }
      // kv: one pass over the bytes keeps every value's JSON text as sent (see splitMembers).
      if (this.#o.layout === "kv" && bytes[0] === OPEN_BRACE) {
        members = splitMembers(text, bytes, ascii);
      }
      // Not a well-formed object for kv (or the stream layout): JSON.parse checks it and names the error.
      if (members === undefined) value = JSON.parse(text);
    } catch (err) {
      this.#bad(new SyntaxError(`Malformed JSON: ${(err as Error).message}`));
      return;
    }
    if (
      members === undefined &&
      (bytes[0] !== OPEN_BRACE || value === null || typeof value !== "object")
    ) {
      this.#reject(`not a JSON object: got ${kindOf(value)}`, text);
      return;
    }
    if (members === undefined && this.#o.layout === "kv") {
      // JSON.parse took what the scanner refused: never store a re-serialized value.
      this.#bad(new SyntaxError("Malformed JSON: the object could not be split into its members"));
      return;
    }
    if (members !== undefined) {
      const prefix = this.#prefix;
      const kvAscii = ascii && this.#prefixAscii && !text.includes("\\u");
      w.add(this, (out, wrap) => encodeKvMembers(members, out, { prefix, ascii: kvAscii, wrap }));
    } else {
      const { streamMaxlen } = this.#o;
      w.add(this, (out) => encodeStream(text, this.#client, this.#streamKey, streamMaxlen, out));
    }
    this.#accepted++;
    if (this.#o.metrics) this.#o.metrics.objectsReceived++;
  }

  #reject(reason: string, text: string): void {
    if (this.#o.metrics) this.#o.metrics.objectsRejected++;
    this.#log.warn("rejected input", {
      reason,
      fingerprint: this.#conn.peer.fingerprint,
      sample: text.length > 80 ? text.slice(0, 80) + "..." : text,
    });
    if (this.#o.ack) void this.#conn.write(JSON.stringify({ error: reason }) + "\n");
  }

  /** Malformed or oversized input: stop reading; `run` stores what came before, then closes. */
  #bad(err: Error): void {
    if (this.#stopped) return;
    if (this.#o.metrics) this.#o.metrics.objectsRejected++;
    this.#log.warn("bad input: closing the connection after storing what came before", {
      error: err.message,
      fingerprint: this.#conn.peer.fingerprint,
      stored_before: this.#accepted,
    });
    this.#stop();
    if (this.#o.ack) void this.#conn.write(JSON.stringify({ error: err.message }) + "\n");
  }

  /** `{"ok":N}`: N objects durably stored; `"spooled":M` of them wait in the disk spool. */
  #ackLine(): string {
    return this.#spooled > 0
      ? `{"ok":${this.#stored},"spooled":${this.#spooled}}\n`
      : `{"ok":${this.#stored}}\n`;
  }

  /** @internal Called by the writer. */
  settled(stored: number, failed: number, reason: string | undefined, spooled: boolean): void {
    this.#stored += stored;
    if (spooled) this.#spooled += stored;
    this.#failed += failed;
    if (failed > 0 && this.#o.ack) {
      void this.#conn.write(
        JSON.stringify({ error: `Redis refused the write: ${reason}`, failed }) + "\n",
      );
    }
    if (this.#o.ack && !this.#ackScheduled) {
      this.#ackScheduled = true;
      queueMicrotask(() => {
        this.#ackScheduled = false;
        if (this.#stored !== this.#lastAck) {
          this.#lastAck = this.#stored;
          void this.#conn.write(this.#ackLine());
        }
      });
    }
    if (this.#stored + this.#failed >= this.#accepted && this.#settleWaiters.length > 0) {
      const w = this.#settleWaiters;
      this.#settleWaiters = [];
      for (const f of w) f();
    }
  }

  #allSettled(): Promise<void> {
    if (this.#stored + this.#failed >= this.#accepted) return Promise.resolve();
    return new Promise((resolve) => this.#settleWaiters.push(resolve));
  }
}
