/** A FIFO of unsigned 32-bit numbers in growable typed-array storage (4 bytes each). */
export class SizeQueue {
  #buf = new Uint32Array(64);
  #head = 0;
  #len = 0;

  /** Numbers queued. */
  get length(): number {
    return this.#len;
  }

  /** Appends `n`. */
  push(n: number): void {
    if (this.#len === this.#buf.length) {
      const next = new Uint32Array(this.#buf.length * 2);
      for (let i = 0; i < this.#len; i++) next[i] = this.#buf[(this.#head + i) % this.#buf.length]!;
      this.#buf = next;
      this.#head = 0;
    }
    this.#buf[(this.#head + this.#len) % this.#buf.length] = n;
    this.#len++;
  }

  /** Removes and returns the oldest number (`undefined` when empty). */
  shift(): number | undefined {
    if (this.#len === 0) return undefined;
    const n = this.#buf[this.#head]!;
    this.#head = (this.#head + 1) % this.#buf.length;
    this.#len--;
    return n;
  }

  /** Removes and returns the newest number (`undefined` when empty). */
  pop(): number | undefined {
    if (this.#len === 0) return undefined;
    this.#len--;
    return this.#buf[(this.#head + this.#len) % this.#buf.length];
  }
}
