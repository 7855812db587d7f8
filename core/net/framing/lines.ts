import { PayloadTooLargeError } from "../errors.ts";
import { HeldBytes, positiveLimit } from "./_held_bytes.ts";

/** Options for {@linkcode LineFramer}. */
export interface LineFramerOptions {
  /** Longest line accepted, in bytes, not counting `\n` or `\r\n` (required). */
  maxLineBytes: number;
  /**
   * Trailing `\x00` bytes of a line (or of the unterminated rest) that are
   * padding: dropped, not delivered and not counted toward `maxLineBytes`,
   * and never held in memory. NULs followed by other bytes of the same line
   * are part of it. A run longer than this counts its excess toward the
   * limit. Default 0 (NULs are ordinary bytes).
   */
  maxPaddingBytes?: number;
}

const LF = 0x0a;
const CR = 0x0d;
const NUL = 0x00;

/**
 * Splits a byte stream into `\n`-terminated lines (`\r\n` accepted), split
 * across chunks anywhere. Lines are delivered without their terminator. A
 * line that lies wholly inside one chunk is a `subarray` of that chunk (no
 * copy): consume it synchronously inside the callback.
 *
 * After a `PayloadTooLargeError` the framer is unusable: every later `push`
 * throws the same error.
 *
 * @example
 * ```ts
 * const lines = new LineFramer({ maxLineBytes: 1024 });
 * lines.push(chunk, (line) => reply(new TextDecoder().decode(line)));
 * const unterminated = lines.takeRest(); // at end of stream
 * ```
 */
export class LineFramer {
  readonly #max: number;
  readonly #maxPad: number;
  readonly #held = new HeldBytes();
  /** Trailing NULs of the unterminated line, counted instead of held (padding unless more follows). */
  #nuls = 0;

  constructor(options: LineFramerOptions) {
    this.#max = positiveLimit("maxLineBytes", options.maxLineBytes);
    const pad = options.maxPaddingBytes ?? 0;
    if (!Number.isSafeInteger(pad) || pad < 0) {
      throw new RangeError(`Invalid maxPaddingBytes: expected an integer >= 0, got ${pad}`);
    }
    this.#maxPad = pad;
  }

  /** Bytes of an unterminated line received in earlier chunks (padding included). */
  get pending(): number {
    return this.#held.size + this.#nuls;
  }

  /**
   * Scans `chunk`, calling `onLine` for each complete line; `onLine` may
   * return `false` (exactly) to stop after that line. Returns how many bytes of
   * `chunk` were consumed: `chunk.length`, or the offset just past the line
   * at which `onLine` stopped (push the rest later). Throws
   * `PayloadTooLargeError` for a line over the limit (lines before it in the
   * chunk are delivered first).
   */
  push(chunk: Uint8Array, onLine: (line: Uint8Array) => unknown): number {
    this.#held.throwIfFailed();
    let start = 0;
    const n = chunk.length;
    while (start < n) {
      const nl = chunk.indexOf(LF, start);
      if (nl < 0) break;
      const line = this.#complete(chunk.subarray(start, nl));
      start = nl + 1;
      if (onLine(line) === false) return start;
    }
    if (start < n) this.#hold(chunk.subarray(start));
    return n;
  }

  /**
   * Returns the unterminated remainder (possibly empty, trailing padding
   * dropped) and clears it, for end of stream.
   */
  takeRest(): Uint8Array {
    this.#nuls = 0;
    return this.#held.take(new Uint8Array(0));
  }

  /** Start of the run of trailing padding NULs of `bytes` (its length when padding is off). */
  #padStart(bytes: Uint8Array): number {
    let end = bytes.length;
    if (this.#maxPad > 0) { while (end > 0 && bytes[end - 1] === NUL) end--; }
    return end;
  }

  /** The line ending with `seg` (the bytes of this chunk before its `\n`). */
  #complete(seg: Uint8Array): Uint8Array {
    const held = this.#held;
    if (seg.length > 0 && seg[seg.length - 1] === CR) seg = seg.subarray(0, -1);
    const padAt = this.#padStart(seg);
    let pad: number;
    let line: Uint8Array;
    if (padAt > 0) {
      // Content in this chunk: NULs counted earlier were inside the line.
      pad = seg.length - padAt;
      this.#check(held.size + this.#nuls + padAt, pad);
      if (this.#nuls > 0) held.hold(new Uint8Array(this.#nuls));
      line = held.size === 0 ? seg.subarray(0, padAt) : held.take(seg.subarray(0, padAt));
    } else {
      pad = this.#nuls + seg.length;
      line = held.take(new Uint8Array(0)); // at most the limit and a `\r`
      // `\r` held from an earlier chunk, right before this `\n` or the padding.
      if (line.length > 0 && line[line.length - 1] === CR) {
        line = line.subarray(0, -1);
        const at = this.#padStart(line); // padding held before that `\r`
        pad += line.length - at;
        line = line.subarray(0, at);
      }
      this.#check(line.length, pad);
    }
    this.#nuls = 0;
    return line;
  }

  /** Holds `rest`, the unterminated end of a chunk. */
  #hold(rest: Uint8Array): void {
    const held = this.#held;
    const padAt = this.#padStart(rest);
    if (padAt === 0) {
      this.#nuls += rest.length;
      this.#check(held.size, this.#nuls);
      return;
    }
    const size = held.size + this.#nuls + padAt;
    const pad = rest.length - padAt;
    // One byte of slack: the line may end in a `\r` whose `\n` is still to come.
    const slack = pad === 0 && rest[rest.length - 1] === CR ? 1 : 0;
    this.#check(size, pad, slack);
    if (this.#nuls > 0) held.hold(new Uint8Array(this.#nuls));
    held.hold(rest.subarray(0, padAt));
    this.#nuls = pad;
  }

  /**
   * Fails when `size` bytes of line, plus the padding beyond its allowance,
   * exceed the limit by more than `slack`.
   */
  #check(size: number, pad: number, slack = 0): void {
    const total = size + Math.max(0, pad - this.#maxPad);
    if (total - slack > this.#max) {
      this.#held.fail(new PayloadTooLargeError(total, this.#max, "Line"));
    }
  }
}
