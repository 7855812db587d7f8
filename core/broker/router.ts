import { PayloadTooLargeError } from "../net/mod.ts";
import { type DataBytes, type MsgHeader, prepareData } from "./frame.ts";
import type { Message, RequestOptions, SendOptions, Subscription } from "./api.ts";
import { toMessage } from "./message.ts";
import type { Sink } from "./options.ts";
import type { PendingReplies } from "./_pending.ts";
import type { PeerTable } from "./_peer_table.ts";
import type { Listeners } from "./_listeners.ts";
import { type PubSubHub, SUBSCRIBE_TYPE } from "./pubsub.ts";
import { BrokerError, RequestTimeoutError } from "./errors.ts";
import { NAME_RE } from "./_peer_table.ts";
import { idNotString, idTooLong } from "./_id_limit.ts";

/** How long a client waits for the server to answer a (un)subscription, ms. */
const SUBSCRIBE_TIMEOUT_MS = 30_000;

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
  /** Server only: publish/subscribe and client-to-client forwarding. */
  hub?: PubSubHub | undefined;
  /** Told about a fire-and-forget publish that could not be stored everywhere. */
  onLost?: (id: string, err: Error) => void;
  /**
   * Cluster only: stores a message for a client not connected to this
   * server (resolves once stored), or returns `undefined` when it is here.
   */
  elsewhere?:
    | ((h: MsgHeader, data: DataBytes, binary: Uint8Array) => Promise<void> | undefined)
    | undefined;
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

  /**
   * The peer name a destination resolves to (throws for a bad or unknown
   * one): the name whose answers count, so another client reached through
   * the server resolves to itself.
   */
  resolve(dst: string): string {
    if (this.#opts.elsewhere && NAME_RE.test(dst)) return dst; // a client anywhere in the cluster
    const peer = this.#opts.peers.route(dst);
    return this.#opts.peers.relays(dst) ? dst : peer.name;
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
    // `delete` only when set: deleting a property turns the header into a slow
    // dictionary object, which JSON.stringify then encodes off its fast path.
    if (header.fwd !== undefined) delete header.fwd;
    // The peer would close the link over it, and the journal would replay it forever.
    const tooLong = idNotString(header) ?? idTooLong(header);
    if (tooLong !== undefined) throw new RangeError(tooLong);
    const hub = this.#opts.hub;
    if (header.pub && hub) {
      this.#checkSize(header, data, binary);
      const stored = hub.publish(this.name, { ...header, dst: "" }, data, binary);
      stored.then(
        () => onAck?.(),
        (err) => onAck ? onAck(err) : this.#opts.onLost?.(header.id, err),
      );
      return true;
    }
    const elsewhere = this.#opts.elsewhere;
    if (elsewhere) {
      this.#checkSize(header, data, binary);
      const away = elsewhere(header, data, binary);
      if (away) {
        if (!onAck) return away;
        const ack = onAck;
        away.then(() => ack(), ack);
        return true;
      }
    }
    const peer = this.#opts.peers.route(header.dst);
    if (this.#opts.peers.relays(header.dst)) header.relay = true;
    else {
      if (header.relay !== undefined) delete header.relay;
      header.dst = peer.name;
    }
    this.#checkSize(header, data, binary);
    if (peer.send(header, data, binary, onAck)) return true;
    return peer.drained();
  }

  /** {@inheritDoc BrokerApi.send} (`pub`: publish instead, see `publish`) */
  send(
    dst: string,
    type: string,
    data?: unknown,
    options: SendOptions & { pub?: boolean } = {},
  ): Promise<string> {
    try {
      const { data: bytes, enc } = prepareData(data);
      const id = options.id ?? this.newId();
      const header: MsgHeader = { kind: "msg", type, src: this.name, dst, id };
      if (enc) header.enc = enc;
      if (options.replyTo !== undefined) header.replyTo = options.replyTo;
      if (options.tag !== undefined) header.tag = options.tag;
      if (options.pub) header.pub = true;
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

  /** {@inheritDoc BrokerApi.publish} */
  publish(type: string, data?: unknown, options: SendOptions = {}): Promise<string> {
    return this.send("", type, data, { ...options, pub: true });
  }

  /** {@inheritDoc BrokerApi.subscribe} */
  async subscribe(types: string[], options: { unsubscribe?: boolean } = {}): Promise<void> {
    if (
      !Array.isArray(types) || types.length === 0 ||
      types.some((t) => typeof t !== "string" || t === "")
    ) {
      throw new TypeError("Subscribe needs message types: a non-empty array of type names");
    }
    if (this.#opts.hub) {
      throw new BrokerError(
        "The server connector does not subscribe: it forwards published messages to the clients subscribed to them (listen to a type on the server instead)",
      );
    }
    const what = options.unsubscribe === true ? "unsubscription" : "subscription";
    const m = await this.request("", SUBSCRIBE_TYPE, {
      types,
      unsubscribe: options.unsubscribe === true,
    }, { timeoutMs: SUBSCRIBE_TIMEOUT_MS }).catch((err) => {
      if (!(err instanceof RequestTimeoutError)) throw err;
      throw new BrokerError(
        `The server did not answer the ${what} of ${
          types.join(", ")
        } within ${SUBSCRIBE_TIMEOUT_MS} ms: its outcome is unknown, the server may still store it (ask again: asking twice is harmless)`,
        { cause: err },
      );
    });
    const answer = m.data as { ok?: boolean; error?: string } | undefined;
    if (answer?.ok !== true) {
      throw new BrokerError(answer?.error ?? "The server gave no answer to the subscription");
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
