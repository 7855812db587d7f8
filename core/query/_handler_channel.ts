/**
 * A shared-memory lane between the handler pool and one handler worker, for
 * batches of queries and their synchronous replies. A `postMessage` round
 * trip between threads costs 20–50 µs here; a worker parked in
 * `Atomics.wait` wakes in a few µs, and the main thread waits with
 * `Atomics.waitAsync`. A batch or reply set too large for the lane goes by
 * `postMessage` instead, as do async handlers' replies.
 *
 * Layout: four int32 control words (request sequence, reply sequence,
 * request bytes, reply bytes), then the request area, then the reply area.
 * Request record: id u32, representation u8, length u32, UTF-8 bytes.
 * Reply record: id u32, ok u8, length u32, UTF-8 bytes.
 */
import type { WorkerQuery, WorkerReply } from "./handler_messages.ts";
import type { RepresentationByte } from "./wire.ts";

const REQ_SEQ = 0;
const REP_SEQ = 1;
const REQ_LEN = 2;
const REP_LEN = 3;
const CONTROL_BYTES = 16;
/** Bytes of each of the request and reply areas. */
export const LANE_BYTES = 1 << 20;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The shared memory of one lane (what is sent to the worker). */
export function createLaneMemory(): SharedArrayBuffer {
  return new SharedArrayBuffer(CONTROL_BYTES + 2 * LANE_BYTES);
}

class Area {
  readonly bytes: Uint8Array;
  readonly view: DataView;
  constructor(sab: SharedArrayBuffer, offset: number) {
    this.bytes = new Uint8Array(sab, offset, LANE_BYTES);
    this.view = new DataView(sab, offset, LANE_BYTES);
  }

  /** Writes records; returns the byte count, or -1 when they do not fit. */
  write(records: Array<{ id: number; flag: number; text: string }>): number {
    let at = 0;
    for (const r of records) {
      if (at + 9 > LANE_BYTES) return -1;
      const { read, written } = encoder.encodeInto(r.text, this.bytes.subarray(at + 9));
      if (read !== r.text.length) return -1;
      this.#head(at, r.id, r.flag, written);
      at += 9 + written;
    }
    return at;
  }

  #head(at: number, id: number, flag: number, length: number): void {
    this.view.setUint32(at, id);
    this.bytes[at + 4] = flag;
    this.view.setUint32(at + 5, length);
  }

  read<T>(length: number, make: (id: number, flag: number, text: string) => T): T[] {
    const out: T[] = [];
    let at = 0;
    while (at < length) {
      const id = this.view.getUint32(at);
      const flag = this.bytes[at + 4]!;
      const n = this.view.getUint32(at + 5);
      out.push(make(id, flag, decoder.decode(this.bytes.subarray(at + 9, at + 9 + n))));
      at += 9 + n;
    }
    return out;
  }
}

const T = 0x74;
const J = 0x6a;

/** The pool's end of a lane. */
export class PoolLane {
  readonly memory: SharedArrayBuffer;
  readonly #control: Int32Array;
  readonly #requests: Area;
  readonly #replies: Area;
  #seenReply = 0;
  #closed = false;

  constructor(memory: SharedArrayBuffer = createLaneMemory()) {
    this.memory = memory;
    this.#control = new Int32Array(memory, 0, 4);
    this.#requests = new Area(memory, CONTROL_BYTES);
    this.#replies = new Area(memory, CONTROL_BYTES + LANE_BYTES);
  }

  /** Hands a batch to the worker; false when it does not fit (send it by message). */
  send(queries: WorkerQuery[]): boolean {
    const n = this.#requests.write(
      queries.map((q) => ({ id: q.id, flag: q.representation === "j" ? J : T, text: q.payload })),
    );
    if (n < 0) return false;
    Atomics.store(this.#control, REQ_LEN, n);
    Atomics.add(this.#control, REQ_SEQ, 1);
    Atomics.notify(this.#control, REQ_SEQ);
    return true;
  }

  /** Calls `onReplies` with each reply set the worker puts in the lane, until `close()`. */
  async listen(onReplies: (replies: WorkerReply[]) => void): Promise<void> {
    while (!this.#closed) {
      const w = Atomics.waitAsync(this.#control, REP_SEQ, this.#seenReply);
      if (w.async) await w.value;
      if (this.#closed) return;
      const seq = Atomics.load(this.#control, REP_SEQ);
      if (seq === this.#seenReply) continue;
      this.#seenReply = seq;
      const length = Atomics.load(this.#control, REP_LEN);
      onReplies(
        this.#replies.read<WorkerReply>(
          length,
          (id, ok, text) => ok ? { id, text } : { id, error: text },
        ),
      );
    }
  }

  /**
   * Wakes a parked worker without a batch, so that it turns its event loop
   * (call after posting it a message).
   */
  nudge(): void {
    Atomics.notify(this.#control, REQ_SEQ);
  }

  /** Stops listening (the pending wait resolves). */
  close(): void {
    this.#closed = true;
    Atomics.add(this.#control, REP_SEQ, 1);
    Atomics.notify(this.#control, REP_SEQ);
  }
}

/** The worker's end of a lane. */
export class WorkerLane {
  readonly #control: Int32Array;
  readonly #requests: Area;
  readonly #replies: Area;
  #seenRequest = 0;

  constructor(memory: SharedArrayBuffer) {
    this.#control = new Int32Array(memory, 0, 4);
    this.#requests = new Area(memory, CONTROL_BYTES);
    this.#replies = new Area(memory, CONTROL_BYTES + LANE_BYTES);
  }

  /**
   * Takes the next batch: waits up to `ms` in `Atomics.wait` (blocking this
   * thread) and returns it, or `undefined` when none came or the pool
   * nudged (a message waits).
   */
  take(ms: number): WorkerQuery[] | undefined {
    if (Atomics.load(this.#control, REQ_SEQ) === this.#seenRequest) {
      Atomics.wait(this.#control, REQ_SEQ, this.#seenRequest, ms);
    }
    return this.#read();
  }

  /** Waits for the next batch without blocking the event loop. */
  async next(): Promise<WorkerQuery[]> {
    for (;;) {
      const w = Atomics.waitAsync(this.#control, REQ_SEQ, this.#seenRequest);
      if (w.async) await w.value;
      const batch = this.#read();
      if (batch) return batch;
    }
  }

  #read(): WorkerQuery[] | undefined {
    const seq = Atomics.load(this.#control, REQ_SEQ);
    if (seq === this.#seenRequest) return undefined;
    this.#seenRequest = seq;
    const length = Atomics.load(this.#control, REQ_LEN);
    return this.#requests.read<WorkerQuery>(length, (id, flag, payload) => ({
      id,
      representation: (flag === J ? "j" : "t") as RepresentationByte,
      payload,
    }));
  }

  /** Puts a reply set in the lane; false when it does not fit (send it by message). */
  reply(replies: WorkerReply[]): boolean {
    const n = this.#replies.write(
      replies.map((r) =>
        "text" in r ? { id: r.id, flag: 1, text: r.text } : { id: r.id, flag: 0, text: r.error }
      ),
    );
    if (n < 0) return false;
    Atomics.store(this.#control, REP_LEN, n);
    Atomics.add(this.#control, REP_SEQ, 1);
    Atomics.notify(this.#control, REP_SEQ);
    return true;
  }
}
