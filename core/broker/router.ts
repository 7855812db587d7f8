import { PayloadTooLargeError } from "../net/mod.ts";
import { type DataBytes, type MsgHeader, prepareData } from "./frame.ts";
import type { Message, RequestOptions, SendOptions, Subscription } from "./api.ts";
import { toMessage } from "./message.ts";
import type { Sink } from "./options.ts";
import type { PendingReplies } from "./_pending.ts";
import type { PeerTable } from "./_peer_table.ts";
import type { Listeners } from "./_listeners.ts";

const EMPTY: Uint8Array = new Uint8Array(0);

/** What a {@linkcode Router} routes with. */
export interface RouterOptions {
  /** This connector's name (the `src` of what it sends). */
  name: string;
  /** Frame size cap, bytes. */
  maxFrameBytes: number;
  peers: PeerTable;
  listeners: Listeners;
  pending: PendingReplies;
}

/**
 * Where messages go: out to a peer (live or through its journal), in to the
 * listeners of their type, and answers back to the request waiting for
 * them. The local API and file sending work through it.
 */
export class Router {
  readonly name: string;
  readonly #opts: RouterOptions;
  readonly #idPrefix = crypto.randomUUID().slice(0, 8);
  #idSeq = 0;

  constructor(opts: RouterOptions) {
    this.name = opts.name;
    this.#opts = opts;
  }

  /** A new message id, unique for this process. */
  newId(): string {
    return `${this.#idPrefix}${(this.#idSeq++).toString(36)}`;
  }

  /** The peer name a destination resolves to (throws for a bad or unknown one). */
  resolve(dst: string): string {
    return this.#opts.peers.route(dst).name;
  }

  #checkSize(header: MsgHeader, data: DataBytes, binary: Uint8Array): void {
    const max = this.#opts.maxFrameBytes;
    const dl = typeof data === "string" ? data.length * 3 : data.length;
    if (dl + binary.length + 4096 < max) return;
    const enc = new TextEncoder();
    const exact = typeof data === "string" ? enc.encode(data).length : data.length;
    const size = 8 + enc.encode(JSON.stringify(header)).length + exact + binary.length;
    if (size > max) throw new PayloadTooLargeError(size, max, "Message");
  }

  /**
   * Sends a prepared message to the peer its `dst` resolves to. Returns
   * `true`, or a promise to wait on while the link is congested.
   */
  sendHeader(
    header: MsgHeader,
    data: DataBytes,
    binary: Uint8Array,
    onAck?: (err?: Error) => void,
  ): true | Promise<void> {
    const peer = this.#opts.peers.route(header.dst);
    header.dst = peer.name;
    this.#checkSize(header, data, binary);
    if (peer.send(header, data, binary, onAck)) return true;
    return peer.drained();
  }

  /** {@inheritDoc BrokerApi.send} */
  send(dst: string, type: string, data?: unknown, options: SendOptions = {}): Promise<string> {
    try {
      const { data: bytes, enc } = prepareData(data);
      const id = options.id ?? this.newId();
      const header: MsgHeader = { kind: "msg", type, src: this.name, dst, id };
      if (enc) header.enc = enc;
      if (options.replyTo !== undefined) header.replyTo = options.replyTo;
      const binary = options.binary ?? EMPTY;
      if (options.ack) {
        header.ack = true;
        return new Promise((resolve, reject) => {
          const r = this.sendHeader(
            header,
            bytes,
            binary,
            (err) => err ? reject(err) : resolve(id),
          );
          if (r !== true) r.catch(reject);
        });
      }
      const r = this.sendHeader(header, bytes, binary);
      return r === true ? Promise.resolve(id) : r.then(() => id);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * Registers a pending response for `id` from peer `peer` (a resolved name:
   * only its answer counts), with a timeout (0 = none).
   */
  expect(...args: Parameters<PendingReplies["expect"]>): void {
    this.#opts.pending.expect(...args);
  }

  /** Drops a pending response (its send failed). */
  unexpect(id: string): void {
    this.#opts.pending.unexpect(id);
  }

  /** {@inheritDoc BrokerApi.request} */
  request(
    dst: string,
    type: string,
    data?: unknown,
    options: RequestOptions = {},
  ): Promise<Message> {
    const timeoutMs = options.timeoutMs ?? 10_000;
    return new Promise((resolve, reject) => {
      try {
        const { data: bytes, enc } = prepareData(data);
        const id = this.newId();
        const header: MsgHeader = {
          kind: "msg",
          type,
          src: this.name,
          dst,
          id,
          timeout: timeoutMs,
        };
        if (enc) header.enc = enc;
        this.expect(id, this.resolve(dst), type, timeoutMs, {
          resolve: (h, d, b) => resolve(toMessage(h, d, b)),
          reject,
        });
        try {
          const r = this.sendHeader(header, bytes, options.binary ?? EMPTY);
          if (r !== true) r.catch((err) => (this.unexpect(id), reject(err)));
        } catch (err) {
          this.unexpect(id);
          throw err;
        }
      } catch (err) {
        reject(err);
      }
    });
  }

  /** Attaches a sink to types; queued messages of those types are handed to it first. */
  attach(types: string[], sink: Sink): Subscription {
    return this.#opts.listeners.add(types, sink);
  }
}
