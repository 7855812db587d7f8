/** Items by priority: the oldest item of the highest priority comes out first. */
export class PriorityFifo<T> {
  #by = new Map<number, { q: T[]; head: number }>();
  #size = 0;

  /** Items held. */
  get size(): number {
    return this.#size;
  }

  push(priority: number, item: T): void {
    let h = this.#by.get(priority);
    if (!h) this.#by.set(priority, h = { q: [], head: 0 });
    h.q.push(item);
    this.#size++;
  }

  /** Removes and returns the oldest item of the highest priority (`undefined` when empty). */
  shift(): T | undefined {
    let best: number | undefined;
    for (const p of this.#by.keys()) if (best === undefined || p > best) best = p;
    if (best === undefined) return undefined;
    const h = this.#by.get(best)!;
    const item = h.q[h.head++]!;
    if (h.head === h.q.length) this.#by.delete(best);
    this.#size--;
    return item;
  }

  /** Removes and returns every item, each priority in order. */
  clear(): T[] {
    const all = [...this.#by.values()].flatMap((h) => h.q.slice(h.head));
    this.#by.clear();
    this.#size = 0;
    return all;
  }
}
