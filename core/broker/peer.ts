import { type DataBytes, encodePayload, type MsgHeader } from "./frame.ts";
import { Journal, type JournalOptions } from "./journal.ts";
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
  /** Whether this entry is still a record in the journal file. */
  journaled: boolean;
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

/**
 * Everything a connector keeps about one peer: its outbound journal (used
 * while the peer is away), the messages sent on the current link and not yet
 * acknowledged, and counters. On link-up the journal is replayed in order;
 * once the peer acknowledges every replayed record the journal is compacted
 * (emptied). On link-down the unacknowledged messages are written back to
 * the journal, so nothing acknowledged is ever sent twice by this side and
 * nothing unacknowledged is lost while the process lives.
 */
export class PeerState {
  readonly name: string;
  readonly journal: Journal;
  readonly stats: PeerStats = { msgsIn: 0, msgsOut: 0, acked: 0, journaled: 0 };
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
  /** Callbacks of journal records appended by this process, aligned with the journal's records. */
  #journalAcks: Array<AckCallback | undefined> = [];
  /** How many in-flight entries are journal records being replayed. */
  #replayed = 0;
  /** Journal records sent by the current replay (dropped from the file once all are acked). */
  #replayTotal = 0;
  #acked = 0;
  /** A replay is sending the journal; new messages are appended behind it meanwhile. */
  #replaying = false;
  /** Byte offset of the next journal record to replay. */
  #replayOffset = 0;

  constructor(name: string, dir: string, opts: Omit<JournalOptions, "name">) {
    this.name = name;
    this.journal = Journal.open(`${dir}/${encodeURIComponent(name)}.journal`, { ...opts, name });
    this.#journalAcks = new Array(this.journal.count).fill(undefined);
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
   * Sends a message now (online) or appends it to the journal (throws
   * `JournalFullError` when the journal is full). Returns `false` when the
   * link is congested (the caller should wait for `drained()`).
   */
  send(header: MsgHeader, data: DataBytes, binary: Uint8Array, onAck?: AckCallback): boolean {
    if (this.online && !this.#replaying) {
      this.#inflight.push({ header, data, binary, onAck, journaled: false });
      this.stats.msgsOut++;
      return this.link!.send(header, data, binary);
    }
    this.journal.append(encodePayload(header, data, binary));
    this.stats.journaled++;
    this.#journalAcks.push(onAck);
    return true;
  }

  /** Resolves when the link can take more (immediately when offline). */
  drained(): Promise<void> {
    return this.online && !this.#replaying ? this.link!.writer.drained() : Promise.resolve();
  }

  /** Attaches a fresh link and replays the journal over it, in order. */
  attach(link: Link): void {
    this.link = link;
    this.since = new Date();
    this.#inflight = [];
    this.#head = 0;
    this.#acked = 0;
    this.#replayed = 0;
    this.#replayTotal = 0;
    this.#replaying = false;
    this.#replayOffset = 0;
    if (!this.blocked) this.replay();
  }

  /**
   * Starts sending the journal over the link (on link-up and on unblock),
   * a slice at a time as the socket drains. Until the replay has caught up
   * with the end of the journal, new messages are appended to it, so they
   * stay behind the older ones.
   */
  replay(): void {
    if (!this.online || this.#replaying || this.#replayTotal > 0) return;
    if (this.journal.count === 0) return;
    this.#replaying = true;
    this.#pump();
  }

  #pump(): void {
    if (!this.online || !this.#replaying) return;
    const link = this.link!;
    while (!link.writer.congested) {
      const { records, next } = this.journal.readRange(this.#replayOffset, REPLAY_SLICE_BYTES);
      if (records.length === 0) {
        this.#replaying = false;
        if (this.#replayed === 0 && this.#replayTotal > 0) this.#compact();
        return;
      }
      for (const payload of records) {
        const i = this.#replayTotal++;
        this.#inflight.push({ payload, onAck: this.#journalAcks[i], journaled: true });
        this.#journalAcks[i] = undefined;
        link.writer.writePayload(payload);
        this.#replayed++;
        this.stats.msgsOut++;
      }
      this.#replayOffset = next;
    }
    link.writer.drained().then(() => {
      if (this.link === link) this.#pump();
    });
  }

  /** Handles the peer's cumulative acknowledgement: `n` messages of this link are durable. */
  acked(n: number): void {
    while (this.#acked < n && this.#head < this.#inflight.length) {
      const e = this.#inflight[this.#head]!;
      this.#inflight[this.#head] = undefined as unknown as Entry;
      this.#head++;
      this.#acked++;
      this.stats.acked++;
      if (e.journaled) this.#replayed--;
      e.onAck?.();
    }
    if (this.#head > 4096 && this.#head * 2 > this.#inflight.length) {
      this.#inflight = this.#inflight.slice(this.#head);
      this.#head = 0;
    }
    if (!this.#replaying && this.#replayTotal > 0 && this.#replayed === 0) this.#compact();
  }

  /** Drops the replayed (now acknowledged) records from the journal. */
  #compact(): void {
    const total = this.#replayTotal;
    this.#replayTotal = 0;
    this.#replayOffset = 0;
    if (this.journal.count === total) this.journal.clear();
    else this.journal.rewrite(this.journal.readAll().slice(total));
    this.#journalAcks = this.#journalAcks.slice(total);
    if (this.journal.count > 0) this.replay();
  }

  /**
   * Detaches the link: unacknowledged messages are written back to the
   * journal ahead of records appended while the link was up but blocked.
   */
  detach(): void {
    this.link = undefined;
    this.since = undefined;
    const rest = this.#inflight.slice(this.#head);
    this.#inflight = [];
    this.#head = 0;
    const total = this.#replayTotal;
    this.#replayTotal = 0;
    this.#replayed = 0;
    this.#replaying = false;
    this.#replayOffset = 0;
    if (rest.length === 0 && total === 0) return;
    const extra = this.journal.readAll().slice(total);
    const extraAcks = this.#journalAcks.slice(total);
    const payloads: Uint8Array[] = [];
    const acks: Array<AckCallback | undefined> = [];
    for (const e of rest) {
      payloads.push(e.payload ?? encodePayload(e.header!, e.data, e.binary));
      acks.push(e.onAck);
    }
    this.journal.rewrite([...payloads, ...extra]);
    this.#journalAcks = [...acks, ...extraAcks];
  }

  /** Fails every pending acknowledgement (shutdown). */
  failPending(err: Error): void {
    for (let i = this.#head; i < this.#inflight.length; i++) this.#inflight[i]?.onAck?.(err);
    for (const cb of this.#journalAcks) cb?.(err);
    this.#journalAcks = new Array(this.journal.count).fill(undefined);
  }
}
