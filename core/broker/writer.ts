import { setImmediate } from "node:timers";
import { type Connection, PayloadTooLargeError } from "../net/mod.ts";
import type { DataBytes, Header } from "./frame.ts";
import { HeaderEncoder } from "./header_encoder.ts";

const enc = new TextEncoder();
const EMPTY: Uint8Array = new Uint8Array(0);
/** Binary parts at least this large are written as their own chunk instead of being copied. */
const COPY_LIMIT = 16 * 1024;
const BLOCK = 256 * 1024;
/**
 * Queued bytes at which a burst is written at once instead of at the end of
 * the event-loop turn: 7/8 of a block. Each such flush hands the block to
 * the socket and starts a fresh one, so flushing at half a block allocated
 * twice the bytes sent; at 7/8 a one-way run took about 20% less CPU in the
 * sending thread (fewer collections of external memory, fewer writes).
 */
const FLUSH_AT = BLOCK - BLOCK / 8;
/**
 * Unsent output, in the socket's high water marks, at which the link counts
 * as congested: 4 × 16 KiB = 64 KiB on a socket. 64 marks (1 MiB) was tried
 * for one-way senders: in alternating runs on a quiet machine it did not
 * raise one-way messages/s and cost pub/sub fan-out (ten links of a server)
 * about 15% (`docs/performance.md`, broker). Callers waiting on a congested
 * link share one `drained()` wait. With one block being filled a link holds
 * at most about 320 KiB of output.
 */
export const CONGESTED_MARKS = 4;

/** Options for {@linkcode FrameWriter}. */
export interface FrameWriterOptions {
  /** Largest frame payload allowed, bytes (the peer's framer limit). */
  maxFrameBytes: number;
}

/**
 * Coalesces frames for one connection: frames are encoded into a shared block and
 * written with one `send` per event-loop turn (corked when a large
 * binary part travels as its own chunk). `write*` return `false` while the
 * socket is over its high water mark; wait on {@linkcode FrameWriter.drained}.
 */
export class FrameWriter {
  readonly #conn: Connection;
  readonly #max: number;
  #buf = new Uint8Array(BLOCK);
  #len = 0;
  #chunks: Uint8Array[] = [];
  #scheduled = false;
  /** The one wait for the socket to drain, shared by every caller while congested. */
  #drain: Promise<void> | undefined;
  readonly #headers = new HeaderEncoder();

  constructor(conn: Connection, options: FrameWriterOptions) {
    this.#conn = conn;
    this.#max = options.maxFrameBytes;
  }

  #ensure(n: number): void {
    if (this.#buf.length - this.#len >= n) return;
    this.#cut();
    if (this.#buf.length < n) this.#buf = new Uint8Array(Math.max(BLOCK, n));
  }

  /**
   * Moves the bytes queued in the block to the chunk list: the block itself
   * when at least half full or oversized (a new one is started), otherwise a
   * copy, so the block is reused. A fresh 256 KiB block per small flush (one
   * per round trip) is external memory that makes V8 run full mark-compacts,
   * pauses that showed up as the round-trip p99.
   */
  #cut(): void {
    if (this.#len === 0) return;
    if (this.#len >= BLOCK / 2 || this.#buf.length > BLOCK) {
      this.#chunks.push(this.#buf.subarray(0, this.#len));
      this.#buf = new Uint8Array(BLOCK);
    } else this.#chunks.push(this.#buf.slice(0, this.#len));
    this.#len = 0;
  }

  /** Encodes and queues one frame. Throws `PayloadTooLargeError` above the frame cap. */
  write(header: Header, data: DataBytes = EMPTY, binary: Uint8Array = EMPTY): boolean {
    const headers = this.#headers;
    headers.prepare(header);
    const inline = binary.length < COPY_LIMIT;
    const dataMax = typeof data === "string" ? data.length * 3 : data.length;
    this.#ensure(12 + headers.maxBytes + dataMax + (inline ? binary.length : 0));
    const buf = this.#buf;
    const start = this.#len;
    const hl = headers.writeInto(buf, start + 8);
    const dataAt = start + 12 + hl;
    let dl: number;
    if (typeof data === "string") dl = writeString(data, buf, dataAt);
    else {
      buf.set(data, dataAt);
      dl = data.length;
    }
    const payload = 8 + hl + dl + binary.length;
    if (payload > this.#max) throw new PayloadTooLargeError(payload, this.#max, "Frame");
    put32(buf, start, payload);
    put32(buf, start + 4, hl);
    put32(buf, start + 8 + hl, dl);
    let end = dataAt + dl;
    if (inline) {
      buf.set(binary, end);
      end += binary.length;
      this.#len = end;
    } else {
      this.#len = end;
      this.#cut();
      this.#chunks.push(binary);
    }
    return this.#schedule();
  }

  /** Queues an already encoded payload (a journal record). */
  writePayload(payload: Uint8Array): boolean {
    if (payload.length > this.#max) {
      throw new PayloadTooLargeError(payload.length, this.#max, "Frame");
    }
    if (payload.length >= COPY_LIMIT) {
      this.#ensure(4);
      put32(this.#buf, this.#len, payload.length);
      this.#len += 4;
      this.#cut();
      this.#chunks.push(payload);
    } else {
      this.#ensure(4 + payload.length);
      put32(this.#buf, this.#len, payload.length);
      this.#buf.set(payload, this.#len + 4);
      this.#len += 4 + payload.length;
    }
    return this.#schedule();
  }

  #schedule(): boolean {
    if (this.#len >= FLUSH_AT || this.#chunks.length > 0 && this.#bufferedChunks() > BLOCK) {
      this.flush();
    } else if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => this.flush());
    }
    return !this.congested;
  }

  #bufferedChunks(): number {
    let n = 0;
    for (const c of this.#chunks) n += c.length;
    return n;
  }

  /** Writes everything queued now. */
  flush(): void {
    this.#scheduled = false;
    this.#cut();
    if (this.#chunks.length === 0) return;
    const chunks = this.#chunks;
    this.#chunks = [];
    this.#conn.sendAll(chunks);
  }

  /** Whether the socket is over its high water mark. */
  get congested(): boolean {
    return this.#conn.unsent >= this.#conn.highWaterMark * CONGESTED_MARKS;
  }

  /**
   * Resolves once the socket drains (or closes). Callers while congested
   * share one promise: a sender that does not wait on each send's result
   * would otherwise add a waiter per message (73,000 in a 200,000-message
   * one-way run).
   */
  drained(): Promise<void> {
    if (!this.congested || this.#conn.isClosed) return Promise.resolve();
    return this.#drain ??= this.#waitDrained().finally(() => this.#drain = undefined);
  }

  async #waitDrained(): Promise<void> {
    while (this.congested && !this.#conn.isClosed) await this.#conn.drained();
  }
}

/**
 * Writes `s` as UTF-8 at `at` (room for 3 bytes a character made); returns
 * the bytes written. Short ASCII text is copied in a loop, cheaper than a
 * call into the encoder for a message of a few hundred bytes.
 */
function writeString(s: string, buf: Uint8Array, at: number): number {
  if (s.length <= 512) {
    let i = 0;
    for (; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c > 0x7f) break;
      buf[at + i] = c;
    }
    if (i === s.length) return i;
  }
  return enc.encodeInto(s, buf.subarray(at)).written;
}

function put32(b: Uint8Array, i: number, n: number): void {
  b[i] = n >>> 24;
  b[i + 1] = (n >>> 16) & 0xff;
  b[i + 2] = (n >>> 8) & 0xff;
  b[i + 3] = n & 0xff;
}
