import type { Logger } from "../log/mod.ts";
import type { Frame, MsgHeader } from "./frame.ts";
import type { TypeQueues } from "./type_queues.ts";
import type { FileReceiver } from "./files.ts";
import type { SendOptions } from "./api.ts";
import { Dedupe } from "./dedupe.ts";
import type { Listeners } from "./_listeners.ts";
import type { PendingReplies } from "./_pending.ts";
import type { LinkState } from "./_peer_links.ts";

const EMPTY: Uint8Array = new Uint8Array(0);

/** What {@linkcode Inbound} hands messages to. */
export interface InboundOptions {
  log: Logger;
  listeners: Listeners;
  pending: PendingReplies;
  files: FileReceiver;
  queues: TypeQueues;
  /** Sends the answer to a file sender (the connector's `send`). */
  send(dst: string, type: string, data: unknown, options: SendOptions): Promise<string>;
}

/**
 * Messages arriving on peer links: drops repeats, assembles file chunks
 * (answering the sender), resolves pending requests, hands the rest to the
 * listeners or queues, and acknowledges them back once they are durable
 * (after the queue flush when any were queued).
 */
export class Inbound {
  readonly #opts: InboundOptions;
  readonly #dedupe = new Map<string, Dedupe>();

  constructor(opts: InboundOptions) {
    this.#opts = opts;
  }

  /** Handles one `msg` frame received on `state`'s link. */
  onMsg(state: LinkState, h: MsgHeader, frame: Frame, payload: Uint8Array): void {
    const peer = state.peer;
    if (!peer) {
      state.link.close("message before hello");
      return;
    }
    state.recv++;
    peer.stats.msgsIn++;
    let dd = this.#dedupe.get(h.src);
    if (!dd) this.#dedupe.set(h.src, dd = new Dedupe());
    if (dd.seen(h.id)) return;
    if (h.file) {
      this.#onFileChunk(state, h, frame);
      return;
    }
    if (h.replyTo !== undefined) {
      if (this.#opts.pending.answer(h.replyTo, h, frame.data, frame.binary, payload)) return;
    }
    this.#deliver(state, h, frame.data, frame.binary, payload);
  }

  #onFileChunk(state: LinkState, h: MsgHeader, frame: Frame): void {
    const file = h.file!;
    const log = this.#opts.log;
    const res = this.#opts.files.chunk(h.type, h.src, file, frame.binary);
    if (!res) return;
    const answer = res.ok ? { ok: true, ...res.result } : { ok: false, error: res.error };
    if (!res.ok) {
      log.warn("file refused", { from: h.src, type: h.type, error: res.error });
    }
    this.#opts.send(h.src, h.type, answer, { replyTo: file.transfer }).catch((err) =>
      log.warn("cannot answer file sender", { error: (err as Error).message })
    );
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
      this.#deliver(state, note, data, EMPTY, undefined);
    }
  }

  #deliver(
    state: LinkState,
    h: MsgHeader,
    data: Uint8Array,
    binary: Uint8Array,
    payload: Uint8Array | undefined,
  ): void {
    if (this.#opts.listeners.deliver(state.link, h, data, binary, payload)) state.needFlush = true;
  }

  /** Acknowledges what `state`'s link received so far, once it is durable. */
  ack(state: LinkState): void {
    if (!state.peer || state.recv === state.acked) return;
    const n = state.recv;
    state.acked = n;
    if (state.needFlush) {
      state.needFlush = false;
      state.flushing++;
      state.ackChain = state.ackChain.then(() => this.#opts.queues.flush()).then(
        () => void state.link.send({ kind: "acks", n }),
        (err) => this.#opts.log.error("cannot persist queue", { error: (err as Error).message }),
      ).finally(() => void state.flushing--);
    } else if (state.flushing === 0) {
      state.link.send({ kind: "acks", n });
    } else {
      state.ackChain = state.ackChain.then(() => void state.link.send({ kind: "acks", n }));
    }
  }
}
