import { type DataBytes, encodePayload, type MsgHeader } from "./frame.ts";
import {
  type LogCursor,
  RecordLog,
  type RecordLogOptions,
  StorageFullError,
} from "../storage/mod.ts";
import { BrokerError, JournalFullError } from "./errors.ts";
import type { Link } from "./link.ts";

/** Bytes of journal read per replay step. */
const REPLAY_SLICE_BYTES = 4 * 1024 * 1024;

/** Called when a message is acknowledged (or fails for good). */
export type AckCallback = (err?: Error) => void;

/** One outbound message waiting for the peer's acknowledgement. */
interface Entry {
  header?: MsgHeader;
  data?: DataBytes;
  binary?: Uint8Array;
  /** Encoded payload (journal records are kept as payloads). */
  payload?: Uint8Array;
  onAck: AckCallback | undefined;
  /** Called once the message is durable: acknowledged, or journaled at detach. */
  onStored?: (() => void) | undefined;
  /** Whether this entry is a record of the journal (consumed once acknowledged). */
  journaled: boolean;
}

const FAILED = Symbol("failed");
/** The acknowledgement callback of one journal record (records of earlier runs have none). */
type Slot = AckCallback | undefined | typeof FAILED;

/**
 * Callbacks of a journal's records from its front, 8 bytes each. A record
 * whose write failed keeps a `FAILED` slot (it is not in the log) so the
 * absolute positions of the others never move.
 */
class Slots {
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

/** Counters shown by `broker peers`. */
export interface PeerStats {
  /** Messages received from the peer. */
  msgsIn: number;
  /** Messages sent to the peer (over the link). */
  msgsOut: number;
  /** Messages the peer acknowledged as durably stored. */
  acked: number;
  /** Messages appended to the journal while the peer was away or blocked. */
  journaled: number;
}

/** Options of a peer's journal and what to tell when a message cannot be stored or is refused. */
export interface PeerStateOptions extends Omit<RecordLogOptions, "name"> {
  /** A fire-and-forget message could not be journaled, or the peer refused it. */
  onLost?: (peer: string, id: string, err: Error) => void;
}

/**
 * Everything a connector keeps about one peer: its outbound journal (a
 * record log, used while the peer is away or a replay is running), the
 * messages sent on the current link and not yet acknowledged, and counters.
 * On link-up the journal is replayed in order; journal records leave it only
 * once the peer acknowledged them. On link-down the unacknowledged live
 * messages are appended to the journal, behind the records still in it, so
 * the order holds and nothing unacknowledged is lost while the process lives.
 */
export class PeerState {
  readonly name: string;
  readonly journal: RecordLog;
  readonly stats: PeerStats = { msgsIn: 0, msgsOut: 0, acked: 0, journaled: 0 };
  readonly #opts: PeerStateOptions;
  link: Link | undefined;
  /** When the current link came up. */
  since: Date | undefined;
  /** Remote address and certificate of the current link. */
  address: string | undefined;
  cn: string | undefined;
  /** Blocked peers get no traffic in either direction (it stays queued). */
  blocked = false;
  #inflight: Entry[] = [];
  #head = 0;
  /** Callbacks of the journal's records, from its front. */
  readonly #slots = new Slots();
  /** Slots (from the front) whose records were sent on the current link. */
  #sent = 0;
  #cursor: LogCursor;
  /** Messages acknowledged on the current link. */
  #acked = 0;
  /** Refusals by the peer, by message number on the current link. */
  #refused = new Map<number, string>();
  /** The journal is being replayed: new messages go behind it. */
  #replaying = false;

  constructor(name: string, dir: string, opts: PeerStateOptions) {
    this.name = name;
    this.#opts = opts;
    const { onLost: _, ...logOpts } = opts;
    this.journal = RecordLog.openSync(dir, { ...logOpts, name: `journal for peer "${name}"` });
    for (let i = 0; i < this.journal.count; i++) this.#slots.push(undefined);
    this.#cursor = this.journal.start;
  }

  /** Whether messages go straight onto a link. */
  get online(): boolean {
    return this.link !== undefined && this.link.open && !this.blocked;
  }

  /** Messages sent and not yet acknowledged. */
  get unacked(): number {
    return this.#inflight.length - this.#head;
  }

  /**
   * Sends a message now (link up and the journal replayed) or appends it to
   * the journal (throws `JournalFullError` when the journal is full). Returns
   * `false` when the link is congested (the caller should wait for `drained()`).
   */
  send(
    header: MsgHeader,
    data: DataBytes,
    binary: Uint8Array,
    onAck?: AckCallback,
    onStored?: () => void,
  ): boolean {
    if (this.link !== undefined && !this.#replaying) {
      this.#inflight.push({ header, data, binary, onAck, onStored, journaled: false });
      // Blocked or closing: kept in order with what was sent, journaled when the link detaches.
      if (this.blocked || !this.link.open) return true;
      this.stats.msgsOut++;
      return this.link.send(header, data, binary);
    }
    const stored = this.#journal(encodePayload(header, data, binary), header.id, onAck, false);
    this.stats.journaled++;
    if (onStored) stored.then(onStored, () => {});
    return true;
  }

  /**
   * Sends like `send`; resolves once the message is durable: acknowledged by
   * the peer, or on disk in its journal. Rejects when it cannot be stored.
   */
  store(header: MsgHeader, data: DataBytes, binary: Uint8Array): Promise<void> {
    return new Promise((resolve, reject) => {
      let done = false;
      const fin = (err?: Error) => {
        if (done) return;
        done = true;
        if (err) reject(err);
        else resolve();
      };
      this.send(header, data, binary, fin, () => fin());
    });
  }

  #journal(
    payload: Uint8Array,
    id: string | undefined,
    onAck: AckCallback | undefined,
    force: boolean,
  ): Promise<void> {
    let stored: Promise<void>;
    try {
      stored = this.journal.append(payload, force);
    } catch (err) {
      if (err instanceof StorageFullError) {
        throw new JournalFullError(this.name, this.journal.maxBytes);
      }
      throw err;
    }
    const at = this.#slots.push(onAck);
    stored.catch((err: Error) => {
      const cb = this.#slots.fail(at);
      const e = err instanceof StorageFullError && err.reason === "disk"
        ? new BrokerError(
          `Journal for peer "${this.name}" cannot grow: the disk is full; the message was not queued (free disk space)`,
          { cause: err },
        )
        : err;
      if (typeof cb === "function") cb(e);
      else this.#opts.onLost?.(this.name, id ?? "", e);
    });
    return stored;
  }

  /** Appends a record accepted by an earlier run (a legacy journal being moved into the log). */
  adopt(payload: Uint8Array): void {
    this.#journal(payload, undefined, undefined, true);
  }

  /** Resolves when the link can take more (immediately when offline). */
  drained(): Promise<void> {
    return this.online && !this.#replaying ? this.link!.writer.drained() : Promise.resolve();
  }

  /** Attaches a fresh link and replays the journal over it, in order. */
  attach(link: Link): void {
    this.link = link;
    this.since = new Date();
    this.#reset();
    this.replay();
  }

  #reset(): void {
    this.#inflight = [];
    this.#head = 0;
    this.#acked = 0;
    this.#sent = 0;
    this.#refused.clear();
    this.#cursor = this.journal.start;
    this.#replaying = this.journal.count > 0;
  }

  /** Starts sending the journal over the link (on link-up and on unblock). */
  replay(): void {
    if (!this.online || this.journal.count === 0) return;
    this.#replaying = true;
    void this.#pump(this.link!);
  }

  #pumping = false;

  async #pump(link: Link): Promise<void> {
    if (this.#pumping) return;
    this.#pumping = true;
    try {
      while (this.link === link && this.#replaying && this.online) {
        if (link.writer.congested) {
          await link.writer.drained();
          continue;
        }
        if (this.#sent >= this.journal.durableCount) {
          if (this.journal.count > this.#sent) {
            await this.journal.flush().catch(() => {});
            continue;
          }
          this.#replaying = false;
          return;
        }
        const { records, next } = await this.journal.read(this.#cursor, REPLAY_SLICE_BYTES);
        if (this.link !== link) return;
        if (records.length === 0) {
          this.#replaying = false;
          return;
        }
        this.#cursor = next;
        for (const payload of records) {
          while (this.#slots.at(this.#sent) === FAILED) this.#sent++;
          const slot = this.#slots.at(this.#sent++);
          this.#inflight.push({
            payload,
            onAck: slot === FAILED ? undefined : slot,
            journaled: true,
          });
          link.writer.writePayload(payload);
          this.stats.msgsOut++;
        }
      }
    } finally {
      this.#pumping = false;
    }
  }

  /** The peer refused message number `n` of this link (it will still be counted by `acked`). */
  refused(n: number, message: string): void {
    if (n > this.#acked && n <= this.#acked + this.unacked && this.#refused.size < 65_536) {
      this.#refused.set(n, message);
    }
  }

  /** Handles the peer's cumulative acknowledgement: `n` messages of this link are settled. */
  acked(n: number): void {
    let journaled = 0;
    while (this.#acked < n && this.#head < this.#inflight.length) {
      const e = this.#inflight[this.#head]!;
      this.#inflight[this.#head] = undefined as unknown as Entry;
      this.#head++;
      this.#acked++;
      if (e.journaled) journaled++;
      const why = this.#refused.get(this.#acked);
      if (why !== undefined) {
        this.#refused.delete(this.#acked);
        const err = new BrokerError(`Peer "${this.name}" refused the message: ${why}`);
        if (e.onAck) e.onAck(err);
        else this.#opts.onLost?.(this.name, e.header?.id ?? "", err);
      } else {
        this.stats.acked++;
        e.onAck?.();
      }
    }
    if (journaled > 0) {
      this.journal.consume(journaled);
      for (let need = journaled; need > 0;) {
        if (this.#slots.shift() !== FAILED) need--;
        this.#sent--;
      }
    }
    if (this.#head > 4096 && this.#head * 2 > this.#inflight.length) {
      this.#inflight = this.#inflight.slice(this.#head);
      this.#head = 0;
    }
  }

  /**
   * Detaches the link: unacknowledged journal records stay in the journal,
   * unacknowledged live messages are appended behind them (past the cap if
   * need be: they were accepted before).
   */
  detach(): void {
    const rest = this.#inflight.slice(this.#head);
    this.link = undefined;
    this.since = undefined;
    for (const e of rest) {
      if (e.journaled) continue;
      const p = this.#journal(
        encodePayload(e.header!, e.data, e.binary),
        e.header!.id,
        e.onAck,
        true,
      );
      if (e.onStored) p.then(e.onStored, () => {});
    }
    this.#reset();
    this.#replaying = false;
  }

  /** Fails every pending acknowledgement (shutdown); the messages stay journaled. */
  failPending(err: Error): void {
    for (let i = this.#head; i < this.#inflight.length; i++) {
      const e = this.#inflight[i];
      if (e && !e.journaled) e.onAck?.(err);
    }
    this.#slots.failAll(err);
  }
}
