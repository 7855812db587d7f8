import { PayloadTooLargeError, ProtocolError } from "../errors.ts";
import { HeldBytes, positiveLimit } from "./_held_bytes.ts";

/** Options for {@linkcode JsonStreamFramer}. */
export interface JsonStreamFramerOptions {
  /** Largest top-level value accepted, in bytes (required: there is no unlimited mode). */
  maxValueBytes: number;
}

// Scanner states.
const BETWEEN = 0; // between values: whitespace skipped, next byte starts a value
const CONTAINER = 1; // inside an object or array, outside any string
const STRING = 2; // inside a string (top level or nested)
const ESCAPE = 3; // right after a backslash inside a string
const SCALAR = 4; // inside a bare top-level number, true, false or null

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;

/** True for the bytes a bare number, `true`, `false` or `null` is made of. */
function isScalarByte(b: number): boolean {
  return (b >= 0x30 && b <= 0x39) || // 0-9
    (b >= 0x61 && b <= 0x7a) || // a-z
    (b >= 0x41 && b <= 0x5a) || // A-Z (exponent E)
    b === 0x2d || b === 0x2b || b === 0x2e; // - + .
}

function isWhitespace(b: number): boolean {
  return b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;
}

function describeByte(b: number): string {
  return b >= 0x20 && b < 0x7f
    ? `0x${b.toString(16).padStart(2, "0")} ("${String.fromCharCode(b)}")`
    : `0x${b.toString(16).padStart(2, "0")}`;
}

/**
 * Splits a byte stream into top-level JSON values: objects, arrays, strings,
 * numbers, `true`, `false` and `null`, back to back (`{..}{..}`) or separated
 * by any whitespace, split across chunks anywhere. It is a small state
 * machine over bytes that tracks string/escape state and nesting depth; it
 * does not validate JSON (the caller's `JSON.parse` does), so malformed JSON
 * inside braces surfaces there.
 *
 * A value that lies wholly inside one chunk is delivered as a `subarray` of
 * that chunk (no copy): consume it synchronously inside the callback. Only a
 * value that spans chunks is copied. A bare scalar (`42`, `true`) ends at
 * whitespace or where another value starts; one at the very end of the
 * stream is delivered by {@linkcode JsonStreamFramer.flush}.
 *
 * After an error the framer is unusable: every later `push` throws the same
 * error (close the connection).
 *
 * @example
 * ```ts
 * const framer = new JsonStreamFramer({ maxValueBytes: 1 << 20 });
 * const dec = new TextDecoder();
 * for await (const chunk of conn.readable()) {
 *   framer.push(chunk, (bytes) => handle(JSON.parse(dec.decode(bytes))));
 * }
 * ```
 */
export class JsonStreamFramer {
  readonly #max: number;
  #state = BETWEEN;
  #depth = 0;
  /** The parts of the current value from earlier chunks. */
  readonly #held = new HeldBytes();
  /** Bytes consumed before the current chunk (for error offsets). */
  #offset = 0;

  constructor(options: JsonStreamFramerOptions) {
    this.#max = positiveLimit("maxValueBytes", options.maxValueBytes);
  }

  /** Bytes of an unfinished value held from earlier chunks. */
  get pending(): number {
    return this.#held.size;
  }

  /**
   * Scans `chunk`, calling `onValue` with the raw UTF-8 bytes of each complete
   * top-level value. Throws `PayloadTooLargeError` for a value over the limit
   * and `ProtocolError` for a byte that cannot start a value; values earlier
   * in the chunk are delivered first.
   */
  push(chunk: Uint8Array, onValue: (bytes: Uint8Array) => void): void {
    this.#held.throwIfFailed();
    const n = chunk.length;
    let state = this.#state;
    let depth = this.#depth;
    // Start of the current value inside this chunk (0 when it began earlier).
    let start = 0;
    let i = 0;
    while (i < n) {
      const b = chunk[i]!;
      switch (state) {
        case BETWEEN:
          if (isWhitespace(b)) break;
          start = i;
          if (b === OPEN_BRACE || b === OPEN_BRACKET) {
            state = CONTAINER;
            depth = 1;
          } else if (b === QUOTE) {
            state = STRING;
            depth = 0;
          } else if (isScalarByte(b)) {
            state = SCALAR;
          } else {
            this.#state = BETWEEN;
            return this.#held.fail(
              new ProtocolError(
                `Invalid JSON stream: unexpected byte ${describeByte(b)} at stream offset ${
                  this.#offset + i
                } where a value should start (expected an object, array, string, number, true, false or null)`,
              ),
            );
          }
          break;
        case CONTAINER:
          if (b === QUOTE) state = STRING;
          else if (b === OPEN_BRACE || b === OPEN_BRACKET) depth++;
          else if (b === CLOSE_BRACE || b === CLOSE_BRACKET) {
            if (--depth === 0) {
              this.#emit(chunk, start, i + 1, onValue);
              state = BETWEEN;
            }
          }
          break;
        case STRING:
          if (b === QUOTE) {
            if (depth === 0) {
              this.#emit(chunk, start, i + 1, onValue);
              state = BETWEEN;
            } else state = CONTAINER;
          } else if (b === BACKSLASH) state = ESCAPE;
          break;
        case ESCAPE:
          state = STRING;
          break;
        case SCALAR:
          if (!isScalarByte(b)) {
            this.#emit(chunk, start, i, onValue);
            state = BETWEEN;
            continue; // this byte is whitespace or starts the next value
          }
          break;
      }
      i++;
    }
    this.#state = state;
    this.#depth = depth;
    this.#offset += n;
    if (state !== BETWEEN) this.#hold(chunk.subarray(start));
  }

  /**
   * Ends the stream: delivers a trailing bare scalar (`42` with nothing after
   * it) and returns the number of bytes of an unfinished value that were
   * discarded (0 when the stream ended cleanly).
   */
  flush(onValue: (bytes: Uint8Array) => void): number {
    this.#held.throwIfFailed();
    const state = this.#state;
    const value = this.#held.size > 0 ? this.#held.take(new Uint8Array(0)) : undefined;
    this.#state = BETWEEN;
    this.#depth = 0;
    if (state === SCALAR && value) {
      onValue(value);
      return 0;
    }
    return value?.length ?? 0;
  }

  #emit(chunk: Uint8Array, start: number, end: number, onValue: (b: Uint8Array) => void): void {
    const held = this.#held;
    const size = held.size + end - start;
    if (size > this.#max) {
      this.#state = BETWEEN;
      held.fail(new PayloadTooLargeError(size, this.#max, "JSON value"));
    }
    const bytes = held.size === 0
      ? chunk.subarray(start, end)
      : held.take(chunk.subarray(start, end));
    onValue(bytes);
  }

  #hold(rest: Uint8Array): void {
    if (rest.length === 0) return;
    const size = this.#held.size + rest.length;
    if (size > this.#max) this.#held.fail(new PayloadTooLargeError(size, this.#max, "JSON value"));
    this.#held.hold(rest);
  }
}
