import type { Logger } from "../log/mod.ts";
import type { Frame, MsgHeader } from "./frame.ts";
import type { FileReceiver } from "./files.ts";
import type { SendOptions } from "./api.ts";
import { SeenIds } from "./dedupe.ts";
import type { Listeners } from "./_listeners.ts";
import type { PendingReplies } from "./_pending.ts";
import type { LinkState } from "./_link_state.ts";

const EMPTY: Uint8Array = new Uint8Array(0);

/** What {@linkcode Inbound} hands messages to. */
export interface InboundOptions {
  log: Logger;
  listeners: Listeners;
  pending: PendingReplies;
  files: FileReceiver;
  /** Directory of the per-sender received-id logs. */
  seenDir: string;
  /** `fdatasync` the received-id logs. */
  fsync: boolean;
  /** Sends the answer to a file sender (the connector's `send`). */
  send(dst: string, type: string, data: unknown, options: SendOptions): Promise<string>;
}

/**
 * Messages arriving on peer links. The sender of every message is the peer
 * the link's handshake proved (a message claiming another `src` is refused
 * and the link closed). Repeats are dropped by a per-sender id window that
 * survives restarts; file chunks are assembled (answering the sender);
 * answers resolve only requests sent to that same peer; the rest goes to
 * the listeners or queues. The link's messages are acknowledged once they
 * are durable; one that cannot be stored is refused (`refused` frame)
 * instead.
 */
export class Inbound {
  readonly #opts: InboundOptions;
  readonly #seen = new Map<string, SeenIds>();

  constructor(opts: InboundOptions) {
    this.#opts = opts;
  }

  /** The received-id window of proven sender `peer` (loaded before its link is attached). */
  async open(peer: string): Promise<void> {
    if (this.#seen.has(peer)) return;
    const s = new SeenIds(`${this.#opts.seenDir}/${encodeURIComponent(peer)}`, {
      peer,
      fsync: this.#opts.fsync,
    });
    await s.load();
    if (!this.#seen.has(peer)) this.#seen.set(peer, s);
  }

  /** Handles one `msg` frame received on `state`'s link. */
  onMsg(state: LinkState, h: MsgHeader, frame: Frame, payload: Uint8Array): void {
    const peer = state.peer;
    const seen = peer && this.#seen.get(peer.name);
    if (!peer || !seen) {
      state.link.close("message before hello");
      return;
    }
    if (typeof h.id !== "string" || typeof h.type !== "string" || h.type === "") {
      state.link.send({
        kind: "error",
        message: 'Malformed message: "id" and "type" must be strings',
      });
      state.link.close("malformed message");
      return;
    }
    if (h.src !== state.remoteName) {
      const message =
        `Message "${h.id}" claims the sender "${h.src}" but this link belongs to "${state.remoteName}": refused`;
      this.#opts.log.warn("refused a message with a forged sender", {
        peer: peer.name,
        claimed: h.src,
        id: h.id,
      });
      state.link.send({ kind: "error", message });
      state.link.close("forged sender");
      return;
    }
    const n = ++state.recv;
    peer.stats.msgsIn++;
    if (seen.seen(h.id)) return;
    if (h.file) {
      this.#onFileChunk(state, n, h, frame);
      return;
    }
    if (h.replyTo !== undefined) {
      if (this.#opts.pending.answer(h.replyTo, peer.name, h, frame.data, frame.binary, payload)) {
        return;
      }
    }
    this.#deliver(state, n, h, frame.data, frame.binary, payload);
  }

  #onFileChunk(state: LinkState, n: number, h: MsgHeader, frame: Frame): void {
    const file = h.file!;
    const log = this.#opts.log;
    const from = state.peer!.name;
    const res = this.#opts.files.chunk(h.type, from, file, frame.binary);
    if (!res) return;
    if (!res.ok) log.warn("file refused", { from, type: h.type, error: res.error });
    this.answerFile(from, h.type, file.transfer, res.ok ? { ok: true, ...res.result } : res);
    if (res.ok) {
      const note: MsgHeader = {
        kind: "msg",
        type: h.type,
        src: h.src,
        dst: h.dst,
        id: file.transfer,
        enc: "json",
      };
      const data = new TextEncoder().encode(
        JSON.stringify({ file: file.name, ...res.result }),
      );
      this.#deliver(state, n, note, data, EMPTY, undefined);
    }
  }

  /** Tells a file sender how its transfer ended. */
  answerFile(to: string, type: string, transfer: string, answer: object): void {
    this.#opts.send(to, type, answer, { replyTo: transfer }).catch((err) =>
      this.#opts.log.warn("cannot answer file sender", { error: (err as Error).message })
    );
  }

  #deliver(
    state: LinkState,
    n: number,
    h: MsgHeader,
    data: Uint8Array,
    binary: Uint8Array,
    payload: Uint8Array | undefined,
  ): void {
    try {
      const r = this.#opts.listeners.deliver(state.link, h, data, binary, payload);
      if (r !== true) state.waits.push(r.catch((err) => this.#refuse(state, n, h, err)));
    } catch (err) {
      this.#refuse(state, n, h, err as Error);
    }
  }

  #refuse(state: LinkState, n: number, h: MsgHeader, err: Error): void {
    this.#seen.get(state.peer?.name ?? "")?.forget(h.id);
    this.#opts.log.warn("refused a message that cannot be stored", {
      peer: state.peer?.name,
      id: h.id,
      type: h.type,
      error: err.message,
    });
    state.link.send({ kind: "refused", n, id: h.id, message: err.message });
  }

  /**
   * Acknowledges what `state`'s link received so far once it is durable
   * (queued messages on disk, received ids on disk); refusals go first.
   */
  ack(state: LinkState): void {
    const peer = state.peer;
    if (!peer || state.recv === state.acked) return;
    const n = state.recv;
    state.acked = n;
    const waits = state.waits;
    state.waits = [];
    const ids = this.#seen.get(peer.name)?.commit().catch((err) =>
      this.#opts.log.warn(
        "cannot store received ids (repeats after a crash may be delivered twice)",
        {
          peer: peer.name,
          error: (err as Error).message,
        },
      )
    );
    state.ackChain = state.ackChain
      .then(() => Promise.all([...waits, ids]))
      .then(() => void state.link.send({ kind: "acks", n }));
  }

  /** Stores pending received ids and closes their logs. */
  async close(): Promise<void> {
    await Promise.all([...this.#seen.values()].map((s) => s.close()));
  }
}
