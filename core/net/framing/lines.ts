import { PayloadTooLargeError } from "../errors.ts";
import { HeldBytes, positiveLimit } from "./_held_bytes.ts";

/** Options for {@linkcode LineFramer}. */
export interface LineFramerOptions {
  /** Longest line accepted, in bytes, not counting `\n` or `\r\n` (required). */
  maxLineBytes: number;
}

const LF = 0x0a;
const CR = 0x0d;

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
  readonly #held = new HeldBytes();

  constructor(options: LineFramerOptions) {
    this.#max = positiveLimit("maxLineBytes", options.maxLineBytes);
  }

  /** Bytes of an unterminated line held from earlier chunks. */
  get pending(): number {
    return this.#held.size;
  }

  /**
   * Scans `chunk`, calling `onLine` for each complete line. Throws
   * `PayloadTooLargeError` for a line over the limit (lines before it in the
   * chunk are delivered first).
   */
  push(chunk: Uint8Array, onLine: (line: Uint8Array) => void): void {
    const held = this.#held;
    held.throwIfFailed();
    let start = 0;
    const n = chunk.length;
    while (start < n) {
      const nl = chunk.indexOf(LF, start);
      if (nl < 0) break;
      let end = nl;
      let line: Uint8Array;
      if (held.size === 0) {
        if (end > start && chunk[end - 1] === CR) end--;
        this.#check(end - start);
        line = chunk.subarray(start, end);
      } else {
        line = held.take(chunk.subarray(start, end));
        if (line.length > 0 && line[line.length - 1] === CR) line = line.subarray(0, -1);
        this.#check(line.length);
      }
      onLine(line);
      start = nl + 1;
    }
    if (start < n) {
      const size = held.size + n - start;
      // One byte of slack: the line may end in a `\r` whose `\n` is still to come.
      if (size > this.#max + 1 || (size === this.#max + 1 && chunk[n - 1] !== CR)) {
        held.fail(new PayloadTooLargeError(size, this.#max, "Line"));
      }
      held.hold(chunk.subarray(start));
    }
  }

  /** Returns the unterminated remainder (possibly empty) and clears it, for end of stream. */
  takeRest(): Uint8Array {
    return this.#held.take(new Uint8Array(0));
  }

  #check(size: number): void {
    if (size > this.#max) this.#held.fail(new PayloadTooLargeError(size, this.#max, "Line"));
  }
}
