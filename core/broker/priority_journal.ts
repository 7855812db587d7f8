import { join } from "node:path";
import {
  type LogCursor,
  RECORD_HEADER_BYTES,
  RecordLog,
  type RecordLogOptions,
  StorageFullError,
} from "../storage/mod.ts";

/** Called when a message is acknowledged (or fails for good). */
export type AckCallback = (err?: Error) => void;

/** The slot of a record whose write failed (it is not in the log). */
export const FAILED: unique symbol = Symbol("failed");
/** The acknowledgement callback of one journal record (records of earlier runs have none). */
export type Slot = AckCallback | undefined | typeof FAILED;

/**
 * Callbacks of a journal's records from its front, 8 bytes each. A record
 * whose write failed keeps a `FAILED` slot (it is not in the log) so the
 * absolute positions of the others never move.
 */
export class Slots {
  #a: Slot[] = [];
  #head = 0;
  /** Absolute position of `#a[0]`. */
  #base = 0;

  get length(): number {
    return this.#a.length - this.#head;
  }

  /** Appends a slot; returns its absolute position. */
  push(v: Slot): number {
    this.#a.push(v);
    return this.#base + this.#a.length - 1;
  }

  /** Marks the slot at absolute position `abs` failed; returns what it held. */
  fail(abs: number): Slot {
    const i = abs - this.#base;
    if (i < this.#head || i >= this.#a.length) return undefined;
    const v = this.#a[i];
    this.#a[i] = FAILED;
    return v;
  }

  /** The `k`-th slot from the front. */
  at(k: number): Slot {
    return this.#a[this.#head + k];
  }

  shift(): Slot {
    const v = this.#a[this.#head];
    this.#a[this.#head++] = undefined;
    if (this.#head > 4096 && this.#head * 2 > this.#a.length) {
      this.#a = this.#a.slice(this.#head);
      this.#base += this.#head;
      this.#head = 0;
    }
    return v;
  }

  /** Calls and drops every callback (shutdown). */
  failAll(err: Error): void {
    for (let i = this.#head; i < this.#a.length; i++) {
      const v = this.#a[i];
      if (typeof v === "function") {
        this.#a[i] = undefined;
        v(err);
      }
    }
  }
}

/** The records of one priority: a record log, its callbacks and the replay position on the current link. */
export interface Lane {
  readonly priority: number;
  readonly log: RecordLog;
  readonly slots: Slots;
  /** Where the replay on the current link reads next. */
  cursor: LogCursor;
  /** Slots from the front sent on the current link (failed ones included). */
  sent: number;
  /** Records from the front sent on the current link. */
  sentRecords: number;
}

/** Directory of a non-zero priority's log inside the journal directory. */
const LANE_RE = /^p(-?\d+)$/;

/**
 * A peer's outbound journal: one record log per message priority. Priority 0
 * (every type without one) lives in the journal directory itself, as before
 * priorities existed; priority N in its subdirectory `pN`. Each log is a
 * FIFO consumed from its front; the replay takes the highest priority with
 * records left, so higher priorities leave first and each priority keeps its
 * order, across restarts. The size cap counts every priority together.
 */
export class PriorityJournal {
  /** What it is, for errors (`journal for peer "alice"`). */
  readonly name: string;
  readonly #dir: string;
  readonly #opts: Omit<RecordLogOptions, "name">;
  readonly #max: number;
  /** Highest priority first. */
  #lanes: Lane[] = [];

  constructor(dir: string, opts: RecordLogOptions) {
    this.name = opts.name;
    this.#dir = dir;
    const { name: _, ...rest } = opts;
    this.#opts = rest;
    this.#max = opts.maxBytes ?? 1024 ** 3;
    this.lane(0);
    for (const e of Deno.readDirSync(dir)) {
      const m = e.isDirectory ? LANE_RE.exec(e.name) : null;
      if (m && Number(m[1]) !== 0) this.lane(Number(m[1]));
    }
  }

  /** The lane of `priority`, its log opened (created) on first use. */
  lane(priority: number): Lane {
    const found = this.#lanes.find((l) => l.priority === priority);
    if (found) return found;
    const dir = priority === 0 ? this.#dir : join(this.#dir, `p${priority}`);
    const name = priority === 0 ? this.name : `${this.name} (priority ${priority})`;
    const log = RecordLog.openSync(dir, { ...this.#opts, name });
    const slots = new Slots();
    for (let i = 0; i < log.count; i++) slots.push(undefined);
    const lane: Lane = { priority, log, slots, cursor: log.start, sent: 0, sentRecords: 0 };
    this.#lanes.push(lane);
    this.#lanes.sort((a, b) => b.priority - a.priority);
    return lane;
  }

  /** Records in every priority, including appends not yet on disk. */
  get count(): number {
    let n = 0;
    for (const l of this.#lanes) n += l.log.count;
    return n;
  }

  /** Bytes the records of every priority take. */
  get bytes(): number {
    let n = 0;
    for (const l of this.#lanes) n += l.log.bytes;
    return n;
  }

  /** The size cap of all priorities together, bytes. */
  get maxBytes(): number {
    return this.#max;
  }

  /**
   * Appends a record to `priority`'s log with its acknowledgement callback.
   * Throws {@linkcode StorageFullError} at once past the cap (unless
   * `force`); `stored` settles as {@linkcode RecordLog.append}'s promise.
   */
  append(
    priority: number,
    payload: Uint8Array,
    onAck: AckCallback | undefined,
    force: boolean,
  ): { stored: Promise<void>; lane: Lane; at: number } {
    if (!force && this.bytes + RECORD_HEADER_BYTES + payload.length > this.#max) {
      throw new StorageFullError(
        `The ${this.name} is full: ${this.bytes} of ${this.#max} bytes used; the record was not stored`,
        "cap",
      );
    }
    const lane = this.lane(priority);
    const stored = lane.log.append(payload, { force: true });
    return { stored, lane, at: lane.slots.push(onAck) };
  }

  /** The highest-priority lane with records not yet sent on the current link. */
  next(): Lane | undefined {
    return this.#lanes.find((l) => l.log.count > l.sentRecords);
  }

  /** A new link (or none): every lane is read again from its front. */
  rewind(): void {
    for (const l of this.#lanes) {
      l.cursor = l.log.start;
      l.sent = 0;
      l.sentRecords = 0;
    }
  }

  /** Drops the first `n` records of `lane`, acknowledged by the peer. */
  consume(lane: Lane, n: number): void {
    lane.log.consume(n);
    for (let need = n; need > 0; lane.sent--) {
      if (lane.slots.shift() !== FAILED) {
        need--;
        lane.sentRecords--;
      }
    }
  }

  /** Calls every pending callback with `err` (shutdown); the records stay. */
  failAll(err: Error): void {
    for (const l of this.#lanes) l.slots.failAll(err);
  }

  /** Resolves once every append so far is on disk. */
  async flush(): Promise<void> {
    await Promise.all(this.#lanes.map((l) => l.log.flush()));
  }

  /** Writes what is pending and closes every log. Idempotent. */
  async close(): Promise<void> {
    await Promise.all(this.#lanes.map((l) => l.log.close()));
  }
}
