/**
 * What a framer carries between chunks: copies of the unfinished frame's
 * bytes from earlier chunks, and the error that made it unusable.
 */

/** Validates a framer's size limit: a positive integer, else a `RangeError` naming the option. */
export function positiveLimit(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new RangeError(`Invalid ${name}: expected a positive integer, got ${value}`);
  }
  return value;
}

/**
 * Bytes of an unfinished frame held from earlier chunks (each part a copy,
 * so the caller's chunk may be reused), and the sticky error: after
 * {@linkcode HeldBytes.fail} the framer is unusable and every
 * {@linkcode HeldBytes.throwIfFailed} throws that error again.
 */
export class HeldBytes {
  #parts: Uint8Array[] = [];
  #size = 0;
  #error: Error | undefined;

  /** Bytes held. */
  get size(): number {
    return this.#size;
  }

  /** Holds a copy of `bytes`. */
  hold(bytes: Uint8Array): void {
    this.#parts.push(bytes.slice());
    this.#size += bytes.length;
  }

  /** The held bytes followed by `tail`, as one new array; nothing is held afterwards. */
  take(tail: Uint8Array): Uint8Array {
    if (this.#parts.length === 0) return tail.slice();
    const out = new Uint8Array(this.#size + tail.length);
    let at = 0;
    for (const p of this.#parts) {
      out.set(p, at);
      at += p.length;
    }
    out.set(tail, at);
    this.#parts = [];
    this.#size = 0;
    return out;
  }

  /** Drops the held bytes, records `err` and throws it. */
  fail(err: Error): never {
    this.#error = err;
    this.#parts = [];
    this.#size = 0;
    throw err;
  }

  /** Throws the error recorded by {@linkcode HeldBytes.fail}, if any. */
  throwIfFailed(): void {
    if (this.#error) throw this.#error;
  }
}
