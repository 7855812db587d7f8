import { PayloadTooLargeError } from "../errors.ts";

/** Bytes in a frame header: the payload length as a 32-bit big-endian unsigned integer. */
export const FRAME_HEADER_BYTES = 4;

/**
 * Encodes one frame: a 4-byte big-endian payload length followed by the
 * payload. Throws `RangeError` for a payload of 4 GiB or more.
 */
export function encodeFrame(payload: Uint8Array): Uint8Array {
  if (payload.length > 0xffffffff) {
    throw new RangeError(
      `Frame payload too large to encode: ${payload.length} bytes exceeds the 4294967295 byte limit`,
    );
  }
  const out = new Uint8Array(FRAME_HEADER_BYTES + payload.length);
  new DataView(out.buffer).setUint32(0, payload.length, false);
  out.set(payload, FRAME_HEADER_BYTES);
  return out;
}

/** Options for {@linkcode LengthPrefixedFramer}. */
export interface LengthPrefixedFramerOptions {
  /** Largest payload accepted, in bytes, not counting the 4-byte header (required). */
  maxFrameBytes: number;
}

/**
 * Splits a byte stream into length-prefixed frames (see
 * {@linkcode encodeFrame}), split across chunks anywhere. A frame's declared
 * length is checked against the limit as soon as its header arrives, before
 * any payload is buffered. A payload wholly inside one chunk is a `subarray`
 * of it (no copy): consume it synchronously inside the callback.
 *
 * After a `PayloadTooLargeError` the framer is unusable: every later `push`
 * throws the same error.
 *
 * @example
 * ```ts
 * const framer = new LengthPrefixedFramer({ maxFrameBytes: 16 << 20 });
 * framer.push(chunk, (payload) => handleFrame(payload));
 * ```
 */
export class LengthPrefixedFramer {
  readonly #max: number;
  readonly #header = new Uint8Array(FRAME_HEADER_BYTES);
  #headerFill = 0;
  /** The payload being assembled across chunks, or undefined while reading a header. */
  #body: Uint8Array | undefined;
  #bodyFill = 0;
  #error: Error | undefined;

  constructor(options: LengthPrefixedFramerOptions) {
    const max = options.maxFrameBytes;
    if (!Number.isSafeInteger(max) || max < 0 || max > 0xffffffff) {
      throw new RangeError(
        `Invalid maxFrameBytes: expected an integer from 0 to 4294967295, got ${max}`,
      );
    }
    this.#max = max;
  }

  /** Bytes of an unfinished frame (header and payload) held from earlier chunks. */
  get pending(): number {
    return this.#body ? FRAME_HEADER_BYTES + this.#bodyFill : this.#headerFill;
  }

  /**
   * Scans `chunk`, calling `onFrame` with each complete payload. Throws
   * `PayloadTooLargeError` when a header declares more than the limit (frames
   * before it in the chunk are delivered first).
   */
  push(chunk: Uint8Array, onFrame: (payload: Uint8Array) => void): void {
    if (this.#error) throw this.#error;
    const n = chunk.length;
    let i = 0;
    while (i < n) {
      if (this.#body) {
        const take = Math.min(this.#body.length - this.#bodyFill, n - i);
        this.#body.set(chunk.subarray(i, i + take), this.#bodyFill);
        this.#bodyFill += take;
        i += take;
        if (this.#bodyFill === this.#body.length) {
          const body = this.#body;
          this.#body = undefined;
          this.#bodyFill = 0;
          onFrame(body);
        }
        continue;
      }
      let length: number;
      if (this.#headerFill === 0 && n - i >= FRAME_HEADER_BYTES) {
        length = ((chunk[i]! << 24) >>> 0) + (chunk[i + 1]! << 16) + (chunk[i + 2]! << 8) +
          chunk[i + 3]!;
        i += FRAME_HEADER_BYTES;
      } else {
        while (this.#headerFill < FRAME_HEADER_BYTES && i < n) {
          this.#header[this.#headerFill++] = chunk[i++]!;
        }
        if (this.#headerFill < FRAME_HEADER_BYTES) break;
        this.#headerFill = 0;
        const h = this.#header;
        length = ((h[0]! << 24) >>> 0) + (h[1]! << 16) + (h[2]! << 8) + h[3]!;
      }
      if (length > this.#max) {
        this.#error = new PayloadTooLargeError(length, this.#max, "Frame");
        throw this.#error;
      }
      if (n - i >= length) {
        const payload = chunk.subarray(i, i + length);
        i += length;
        onFrame(payload);
      } else {
        this.#body = new Uint8Array(length);
        this.#bodyFill = 0;
      }
    }
  }
}
