/**
 * The duplicate window of ids in the router's own form (`Router.newId`: 8
 * lowercase hex digits naming the sending process, then a sequence number
 * in base 36): one bit per sequence number in a ring of `capacity` bits per
 * process, so a lookup costs a few arithmetic operations instead of a hash
 * of the id string in a set of hundreds of thousands.
 */

/** Most sending processes (id prefixes) remembered per sender; the oldest is dropped first. */
const MAX_PREFIXES = 16;
/** Longest sequence part: 36^10 is below 2^53, so it parses exactly. */
const MAX_SEQ_CHARS = 10;

/**
 * The sequence number of an id in the router's form, or -1 for any other
 * id. Only the canonical spelling matches (no leading zero, lowercase), so
 * two different ids never map to one prefix and number. Allocates nothing.
 */
export function routerSeq(id: string): number {
  const n = id.length;
  if (n < 9 || n > 8 + MAX_SEQ_CHARS) return -1;
  for (let i = 0; i < 8; i++) {
    const c = id.charCodeAt(i);
    if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) return -1; // 0-9 a-f
  }
  if (id.charCodeAt(8) === 48 && n > 9) return -1; // a leading zero
  let seq = 0;
  for (let i = 8; i < n; i++) {
    const c = id.charCodeAt(i);
    if (c >= 48 && c <= 57) seq = seq * 36 + (c - 48);
    else if (c >= 97 && c <= 122) seq = seq * 36 + (c - 87);
    else return -1;
  }
  return seq;
}

/** Seen sequence numbers of one sending process: the last `capacity` below the highest. */
class Ring {
  readonly #bits: Uint8Array;
  readonly #cap: number;
  #max = -1;

  constructor(capacity: number) {
    this.#cap = capacity;
    this.#bits = new Uint8Array(Math.ceil(capacity / 8));
  }

  #get(seq: number): boolean {
    const i = seq % this.#cap;
    return (this.#bits[i >> 3]! & (1 << (i & 7))) !== 0;
  }

  #set(seq: number, on: boolean): void {
    const i = seq % this.#cap;
    if (on) this.#bits[i >> 3]! |= 1 << (i & 7);
    else this.#bits[i >> 3]! &= ~(1 << (i & 7));
  }

  /** Records `seq`; `true` when it was seen. Numbers older than the window count as new. */
  seen(seq: number): boolean {
    if (seq > this.#max) {
      if (seq - this.#max >= this.#cap) this.#bits.fill(0);
      else for (let s = this.#max + 1; s < seq; s++) this.#set(s, false);
      this.#set(seq, true);
      this.#max = seq;
      return false;
    }
    if (seq <= this.#max - this.#cap) return false;
    if (this.#get(seq)) return true;
    this.#set(seq, true);
    return false;
  }

  forget(seq: number): void {
    if (seq <= this.#max && seq > this.#max - this.#cap) this.#set(seq, false);
  }
}

/** Seen router-form ids of one sender, per sending process. */
export class SeqWindow {
  readonly #cap: number;
  readonly #rings = new Map<string, Ring>();
  #lastPrefix = "";
  #last: Ring | undefined;

  constructor(capacity: number) {
    this.#cap = capacity;
  }

  #ring(id: string, create: boolean): Ring | undefined {
    if (this.#last && id.startsWith(this.#lastPrefix)) return this.#last;
    const prefix = id.slice(0, 8);
    let r = this.#rings.get(prefix);
    if (!r && create) {
      if (this.#rings.size >= MAX_PREFIXES) {
        this.#rings.delete(this.#rings.keys().next().value!);
      }
      this.#rings.set(prefix, r = new Ring(this.#cap));
    }
    if (r) {
      this.#lastPrefix = prefix;
      this.#last = r;
    }
    return r;
  }

  /** Records router-form id `id` with sequence number `seq`; `true` when it was seen before. */
  seen(id: string, seq: number): boolean {
    return this.#ring(id, true)!.seen(seq);
  }

  /** Forgets router-form id `id` with sequence number `seq`. */
  forget(id: string, seq: number): void {
    this.#ring(id, false)?.forget(seq);
  }
}
