/**
 * Remembers the last `capacity` message ids and reports repeats, so a
 * receiver drops a message replayed after a lost acknowledgement.
 */
export class Dedupe {
  readonly #seen = new Set<string>();
  readonly #ring: Array<string | undefined>;
  #pos = 0;

  constructor(capacity = 200_000) {
    this.#ring = new Array(capacity);
  }

  /** Records `id`; returns `true` when it was seen before. */
  seen(id: string): boolean {
    if (this.#seen.has(id)) return true;
    const old = this.#ring[this.#pos];
    if (old !== undefined) this.#seen.delete(old);
    this.#ring[this.#pos] = id;
    this.#pos = (this.#pos + 1) % this.#ring.length;
    this.#seen.add(id);
    return false;
  }
}
