import { type DataBytes, encodePayload, type MsgHeader } from "./frame.ts";
import { type RecordLogOptions, StorageFullError } from "../storage/mod.ts";
import { type AckCallback, FAILED, type Lane, PriorityJournal } from "./priority_journal.ts";
import { PriorityFifo } from "./_priority_fifo.ts";
import { BrokerError, JournalFullError } from "./errors.ts";
import type { Link } from "./link.ts";
import type { ClockTimer } from "../async/mod.ts";

/** Bytes of journal read per replay step. */
const REPLAY_SLICE_BYTES = 4 * 1024 * 1024;

export type { AckCallback } from "./priority_journal.ts";

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
  /** The journal lane a journaled entry was read from. */
  lane?: Lane;
  /** Its type's priority (higher leaves first). */
  priority: number;
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
  /**
   * Message type → priority: messages of a higher priority leave the queue
   * first, in order within a priority; unlisted types have 0. Default: none
   * (every message in order).
   */
  priorities?: Record<string, number> | undefined;
  /**
   * Bytes of messages sent on one link and not yet acknowledged, above which
   * the link is closed (its unacknowledged messages go back to the journal
   * and are sent again when the peer reconnects): a peer that reads but never
   * acknowledges cannot make us hold unbounded memory. Default
   * {@linkcode MAX_UNACKED_BYTES}.
   */
  maxUnackedBytes?: number;
  /**
   * Bytes of live messages held while the link is congested (priorities
   * set), above which `send` throws instead of holding one more: a caller
   * that ignores `send`'s `false` (or does not await the connector's send)
   * cannot make us hold unbounded memory. Default {@linkcode MAX_HELD_BYTES}.
   */
  maxHeldBytes?: number;
  /**
   * Ms a link may go without acknowledging anything while messages sent on
   * it wait for an acknowledgement; past it the link is closed (its
   * unacknowledged messages go back to the journal, which settles their
   * senders' `store()`, and are sent again when the peer reconnects): a peer
   * that reads but never acknowledges cannot hold its senders forever.
   * Checked on the link's clock. 0 = off. Default {@linkcode ACK_TIMEOUT_MS}.
   */
  ackTimeoutMs?: number;
}

/** Default {@linkcode PeerStateOptions.ackTimeoutMs}: 60 s. */
export const ACK_TIMEOUT_MS = 60_000;

/** Default {@linkcode PeerStateOptions.maxUnackedBytes}: 64 MiB. */
export const MAX_UNACKED_BYTES = 64 * 1024 * 1024;
/** Default {@linkcode PeerStateOptions.maxHeldBytes}: 64 MiB, as much as may be unacknowledged on the link. */
export const MAX_HELD_BYTES = MAX_UNACKED_BYTES;

/** Refusals kept per link until the acknowledgement that covers them. */
const MAX_REFUSALS = 65_536;
/** Characters of a peer's refusal reason kept (a reason is one line, not a payload). */
const MAX_REFUSAL_CHARS = 1024;

/** What an entry holds in memory, roughly (a string counted by its length). */
function entryBytes(e: Entry): number {
  if (e.payload) return e.payload.length;
  return 128 + (e.data?.length ?? 0) + (e.binary?.length ?? 0);
}

/**
 * Everything a connector keeps about one peer: its outbound journal (one
 * record log per priority, used while the peer is away or a replay is
 * running), the messages sent on the current link and not yet acknowledged,
 * and counters. On link-up the journal is replayed, highest priority first
 * and in order within a priority; journal records leave it only once the
 * peer acknowledged them. With priorities set, messages that arrive while the
 * link is congested wait here (up to `maxHeldBytes`; past it `send` throws),
 * and leave highest priority first as it drains. On link-down the
 * unacknowledged live messages are appended to the journal, behind the
 * records of their priority still in it, so the order
 * holds and nothing unacknowledged is lost while the process lives.
 */
export class PeerState {
  readonly name: string;
  readonly journal: PriorityJournal;
  readonly stats: PeerStats = { msgsIn: 0, msgsOut: 0, acked: 0, journaled: 0 };
  readonly #opts: PeerStateOptions;
  readonly #priorities: Map<string, number> | undefined;
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
  /** Bytes of the entries of `#inflight` from `#head` on (see `maxUnackedBytes`). */
  #unackedBytes = 0;
  /** Messages acknowledged on the current link. */
  #acked = 0;
  /**
   * When the oldest unacknowledged message was sent or an acknowledgement
   * last advanced, whichever is later (link clock ms); `undefined` while
   * nothing sent waits (see `ackTimeoutMs`).
   */
  #waitingSince: number | undefined;
  /** Checks `ackTimeoutMs` on the current link. */
  #ackTimer: ClockTimer | undefined;
  /** Refusals by the peer, by message number on the current link. */
  #refused = new Map<number, string>();
  /** The journal is being replayed: new messages go behind it. */
  #replaying = false;
  /** Live messages waiting for the congested link, by priority (priorities set only). */
  #held = new PriorityFifo<Entry>();
  /** Bytes of the entries of `#held` (see `maxHeldBytes`). */
  #heldBytes = 0;
  /** Resolves when the held messages are on the link (or the link is gone). */
  #heldOut: PromiseWithResolvers<void> | undefined;

  constructor(name: string, dir: string, opts: PeerStateOptions) {
    this.name = name;
    this.#opts = opts;
    const {
      onLost: _,
      priorities,
      maxUnackedBytes: _cap,
      maxHeldBytes: _held,
      ackTimeoutMs: _ackMs,
      ...logOpts
    } = opts;
    const entries = Object.entries(priorities ?? {});
    this.#priorities = entries.length > 0 ? new Map(entries) : undefined;
    this.journal = new PriorityJournal(dir, { ...logOpts, name: `journal for peer "${name}"` });
  }

  /** Whether messages go straight onto a link. */
  get online(): boolean {
    return this.link !== undefined && this.link.open && !this.blocked;
  }

  /** Messages sent and not yet acknowledged. */
  get unacked(): number {
    return this.#inflight.length - this.#head;
  }

  /** The priority of messages of `type` (0 unless configured). */
  priorityOf(type: string): number {
    return this.#priorities?.get(type) ?? 0;
  }

  /**
   * Sends a message now (link up and the journal replayed) or appends it to
   * the journal (throws `JournalFullError` when the journal is full). Returns
   * `false` when the link is congested (the caller should wait for `drained()`);
   * throws `BrokerError` when the messages already held for the congested link
   * are at `maxHeldBytes` (the message is not queued).
   */
  send(
    header: MsgHeader,
    data: DataBytes,
    binary: Uint8Array,
    onAck?: AckCallback,
    onStored?: () => void,
  ): boolean {
    const priority = this.priorityOf(header.type);
    if (this.link !== undefined && !this.#replaying) {
      const e: Entry = { header, data, binary, onAck, onStored, journaled: false, priority };
      // Blocked or closing: kept in order with what was sent, journaled when the link detaches.
      if (this.blocked || !this.link.open) {
        this.#inflight.push(e);
        this.#unackedBytes += entryBytes(e);
        return true;
      }
      if (this.#priorities && (this.#held.size > 0 || this.link.writer.congested)) {
        return this.#hold(e);
      }
      this.#inflight.push(e);
      this.stats.msgsOut++;
      const open = this.link.send(header, data, binary);
      this.#sent(e, this.link);
      return open;
    }
    const stored = this.#journal(
      priority,
      encodePayload(header, data, binary),
      header.id,
      onAck,
      false,
    );
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
    priority: number,
    payload: Uint8Array,
    id: string | undefined,
    onAck: AckCallback | undefined,
    force: boolean,
  ): Promise<void> {
    let r: ReturnType<PriorityJournal["append"]>;
    try {
      r = this.journal.append(priority, payload, onAck, force);
    } catch (err) {
      if (err instanceof StorageFullError) {
        throw new JournalFullError(this.name, this.journal.maxBytes);
      }
      throw err;
    }
    const { stored, lane, at } = r;
    stored.catch((err: Error) => {
      const cb = lane.slots.fail(at);
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
    this.#journal(0, payload, undefined, undefined, true);
  }

  /** Resolves when the link can take more (immediately when offline). */
  drained(): Promise<void> {
    if (!this.online || this.#replaying) return Promise.resolve();
    return this.#heldOut?.promise ?? this.link!.writer.drained();
  }

  /** Keeps a live message until the congested link drains (priorities set); throws past `maxHeldBytes`. */
  #hold(e: Entry): false {
    const bytes = entryBytes(e);
    const cap = this.#opts.maxHeldBytes ?? MAX_HELD_BYTES;
    if (this.#heldBytes + bytes > cap) {
      throw new BrokerError(
        `Cannot queue a message of type "${
          e.header!.type
        }" for peer "${this.name}": ${this.#held.size} messages (${
          Math.round(this.#heldBytes / 1024)
        } KiB) wait for its congested link already, and this one would go over the ${
          Math.round(cap / 1024)
        } KiB cap; the message was not queued (wait for each send to resolve, or for drained(), before sending more)`,
      );
    }
    this.#held.push(e.priority, e);
    this.#heldBytes += bytes;
    if (!this.#heldOut) {
      this.#heldOut = Promise.withResolvers<void>();
      void this.#release(this.link!);
    }
    return false;
  }

  /** Counts a message put on `link`; closes the link when the peer is too far behind with acknowledgements. */
  #sent(e: Entry, link: Link): void {
    this.#unackedBytes += entryBytes(e);
    this.#waitingSince ??= link.clock.now();
    const cap = this.#opts.maxUnackedBytes ?? MAX_UNACKED_BYTES;
    if (this.#unackedBytes <= cap || !link.open) return;
    link.close(
      `peer "${this.name}" has not acknowledged ${this.unacked} messages (${
        Math.round(this.#unackedBytes / 1024)
      } KiB, over the ${
        Math.round(cap / 1024)
      } KiB cap); they are journaled and sent again when it reconnects`,
    );
  }

  /** Moves held messages onto the link as it drains, highest priority first. */
  async #release(link: Link): Promise<void> {
    while (this.link === link && this.online && this.#held.size > 0) {
      if (link.writer.congested) {
        await link.writer.drained();
        continue;
      }
      const e = this.#held.shift()!;
      this.#heldBytes -= entryBytes(e);
      this.#inflight.push(e);
      this.stats.msgsOut++;
      link.send(e.header!, e.data, e.binary);
      this.#sent(e, link);
    }
    if (this.link === link) this.#releaseWaiters();
  }

  #releaseWaiters(): void {
    const out = this.#heldOut;
    this.#heldOut = undefined;
    out?.resolve();
  }

  /** Attaches a fresh link and replays the journal over it, highest priority first. */
  attach(link: Link): void {
    this.link = link;
    this.since = new Date();
    this.#reset();
    const ms = this.#opts.ackTimeoutMs ?? ACK_TIMEOUT_MS;
    if (ms > 0) {
      // a few checks per deadline: a link is closed at most a quarter late
      this.#ackTimer = link.clock.every(
        Math.max(10, Math.min(1000, ms / 4)),
        () => this.#checkAcks(link, ms),
      );
    }
    this.replay();
  }

  /** Closes `link` when nothing was acknowledged for `ms` while messages sent on it wait. */
  #checkAcks(link: Link, ms: number): void {
    if (this.link !== link || !link.open) return;
    const now = link.clock.now();
    // a blocked peer gets nothing, so what waits may not have been sent: its time does not count
    if (this.#waitingSince === undefined || this.blocked) {
      if (this.#waitingSince !== undefined) this.#waitingSince = now;
      return;
    }
    const waited = now - this.#waitingSince;
    if (waited <= ms) return;
    link.close(
      `peer "${this.name}" acknowledged none of its ${this.unacked} unacknowledged messages for ${waited} ms (over the ${ms} ms acknowledgement deadline); they are journaled and sent again when it reconnects (--ack-timeout)`,
    );
  }

  #reset(): void {
    this.#ackTimer?.clear();
    this.#ackTimer = undefined;
    this.#waitingSince = undefined;
    this.#inflight = [];
    this.#head = 0;
    this.#unackedBytes = 0;
    this.#acked = 0;
    this.#refused.clear();
    this.journal.rewind();
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
        const lane = this.journal.next();
        if (!lane) {
          this.#replaying = false;
          return;
        }
        if (lane.sentRecords >= lane.log.durableCount) {
          await lane.log.flush().catch(() => {});
          continue;
        }
        const { records, next } = await lane.log.read(lane.cursor, REPLAY_SLICE_BYTES);
        if (this.link !== link) return;
        if (records.length === 0) {
          this.#replaying = false;
          return;
        }
        lane.cursor = next;
        for (const payload of records) {
          while (lane.slots.at(lane.sent) === FAILED) lane.sent++;
          const slot = lane.slots.at(lane.sent++);
          lane.sentRecords++;
          this.#inflight.push({
            payload,
            onAck: slot === FAILED ? undefined : slot,
            journaled: true,
            lane,
            priority: lane.priority,
          });
          link.writer.writePayload(payload);
          this.stats.msgsOut++;
          this.#sent(this.#inflight[this.#inflight.length - 1]!, link);
        }
      }
    } finally {
      this.#pumping = false;
    }
  }

  /**
   * The peer refused message number `n` of this link (it will still be
   * counted by `acked`). At most {@linkcode MAX_REFUSALS} are kept, each
   * reason cut to {@linkcode MAX_REFUSAL_CHARS}.
   */
  refused(n: number, message: string): void {
    if (n > this.#acked && n <= this.#acked + this.unacked && this.#refused.size < MAX_REFUSALS) {
      this.#refused.set(n, message.slice(0, MAX_REFUSAL_CHARS));
    }
  }

  /** Handles the peer's cumulative acknowledgement: `n` messages of this link are settled. */
  acked(n: number): void {
    let done: Map<Lane, number> | undefined;
    const before = this.#acked;
    while (this.#acked < n && this.#head < this.#inflight.length) {
      const e = this.#inflight[this.#head]!;
      this.#inflight[this.#head] = undefined as unknown as Entry;
      this.#head++;
      this.#unackedBytes -= entryBytes(e);
      this.#acked++;
      if (e.lane) (done ??= new Map()).set(e.lane, (done.get(e.lane) ?? 0) + 1);
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
    if (done) { for (const [lane, k] of done) this.journal.consume(lane, k); }
    if (this.#acked > before && this.link) {
      this.#waitingSince = this.unacked > 0 ? this.link.clock.now() : undefined;
    }
    if (this.#head > 4096 && this.#head * 2 > this.#inflight.length) {
      this.#inflight = this.#inflight.slice(this.#head);
      this.#head = 0;
    }
  }

  /**
   * Detaches the link: unacknowledged journal records stay in the journal,
   * unacknowledged and held live messages are appended behind the records of
   * their priority (past the cap if need be: they were accepted before).
   */
  detach(): void {
    const rest = this.#inflight.slice(this.#head);
    this.link = undefined;
    this.since = undefined;
    for (const e of rest) if (!e.journaled) this.#rejournal(e);
    for (const e of this.#held.clear()) this.#rejournal(e);
    this.#heldBytes = 0;
    this.#releaseWaiters();
    this.#reset();
    this.#replaying = false;
  }

  #rejournal(e: Entry): void {
    const p = this.#journal(
      e.priority,
      encodePayload(e.header!, e.data, e.binary),
      e.header!.id,
      e.onAck,
      true,
    );
    if (e.onStored) p.then(e.onStored, () => {});
  }

  /** Fails every pending acknowledgement (shutdown); the messages stay journaled. */
  failPending(err: Error): void {
    for (let i = this.#head; i < this.#inflight.length; i++) {
      const e = this.#inflight[i];
      if (e && !e.journaled) e.onAck?.(err);
    }
    this.journal.failAll(err);
  }
}
