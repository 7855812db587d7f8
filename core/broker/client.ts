import { type Connection, connectLocal, LocalConnectError } from "../net/mod.ts";
import { type ClockTimer, systemClock } from "../async/mod.ts";
import { encodeData, type Frame, type Header, type MsgHeader } from "./frame.ts";
import { toMessage as inMessage } from "./message.ts";
import { Link } from "./link.ts";
import { BrokerError, RequestTimeoutError } from "./errors.ts";
import { DEFAULT_MAX_FRAME } from "./options.ts";
import type {
  BrokerApi,
  FileResult,
  ListenOptions,
  Message,
  RequestOptions,
  SendFileOptions,
  SendOptions,
  Subscription,
} from "./api.ts";

const EMPTY: Uint8Array = new Uint8Array(0);

/** Options for {@linkcode BrokerClient.connect}. */
export interface BrokerClientOptions {
  /** Frame size cap, bytes. Default 16 MiB. */
  maxFrameBytes?: number;
}

interface Waiter {
  resolve(frame: Frame): void;
  reject(err: Error): void;
}

/** Handler key of a tag-filtered listener. */
function keyOf(type: string, tag: string): string {
  return `${type}\u0000${tag}`;
}

function toMessage(frame: Frame): Message {
  return inMessage(frame.header as MsgHeader, frame.data, frame.binary);
}

/**
 * An app's handle on its connector through the local API socket
 * (`STATE_DIR/broker.sock`): the same `send`, `request`, `listen` and
 * `sendFile` as the in-process `Connector`, plus `sync` and `admin`.
 *
 * @example
 * ```ts
 * await using c = await BrokerClient.connect("state/broker.sock");
 * await c.send("alice", "chat", { text: "hi" }, { ack: true });
 * ```
 */
export class BrokerClient implements BrokerApi, AsyncDisposable {
  readonly #link: Link;
  readonly #waiters = new Map<string, Waiter>();
  readonly #handlers = new Map<string, Set<(m: Message) => void>>();
  #prefix = `app${crypto.randomUUID().slice(0, 8)}`;
  #seq = 0;
  #error: Error | undefined;
  #closedReason: string | undefined;
  /** Messages handed to listeners on this connection (confirmed to the connector after each read). */
  #got = 0;
  #confirmed = 0;
  /** Set once a handler threw: no message from that one on is confirmed. */
  #confirmLimit = Infinity;
  /** Whether a handler runs now (the message it has is not handled yet). */
  #handling = false;
  /**
   * Handler keys whose `unlisten` is not answered yet: a message of theirs
   * arriving meanwhile was handed before it and goes back to the queue, so
   * it reaches no handler (not even a new listen's).
   */
  readonly #unlistening = new Map<string, string>();

  private constructor(conn: Connection, maxFrameBytes: number) {
    this.#link = new Link(conn, {
      maxFrameBytes,
      heartbeatMs: 0,
      onFrame: (frame) => this.#onFrame(frame),
      onChunkDone: () => this.#confirm(),
      onClose: (reason) => {
        this.#closedReason = reason;
        const err = new BrokerError(`Connection to the connector closed: ${reason}`);
        for (const w of this.#waiters.values()) w.reject(err);
        this.#waiters.clear();
      },
    });
  }

  /** Connects to a connector's local socket; the error says when none is running there. */
  static async connect(path: string, options: BrokerClientOptions = {}): Promise<BrokerClient> {
    let conn: Connection;
    try {
      conn = await connectLocal(path);
    } catch (err) {
      if (!(err instanceof LocalConnectError)) throw err;
      const why = err.noListener
        ? 'no connector is running there (start one with "sockkit broker serve" or "sockkit broker connect", and pass the same --dir)'
        : err.reason;
      throw new BrokerError(`Cannot reach the connector socket "${path}": ${why}`, { cause: err });
    }
    return new BrokerClient(conn, options.maxFrameBytes ?? DEFAULT_MAX_FRAME);
  }

  #onFrame(frame: Frame): void {
    const h = frame.header;
    if (h.kind === "msg") {
      if (h.replyTo !== undefined) {
        const w = this.#waiters.get(h.replyTo);
        if (w) {
          this.#waiters.delete(h.replyTo);
          w.resolve(frame);
          return;
        }
      }
      const set = this.#handlerOf(h.type);
      const tagged = h.tag === undefined ? undefined : this.#handlerOf(keyOf(h.type, h.tag));
      this.#got++;
      if (set || tagged) {
        const m = toMessage(frame);
        this.#handling = true;
        if (set) this.#run(set, m);
        if (tagged) this.#run(tagged, m);
        this.#handling = false;
      }
      return;
    }
    if (h.kind === "result" || h.kind === "error") {
      const id = h.replyTo;
      for (const [key, uid] of this.#unlistening) {
        if (uid === id) this.#unlistening.delete(key);
      }
      const w = id === undefined ? undefined : this.#waiters.get(id);
      if (w && id !== undefined) {
        this.#waiters.delete(id);
        if (h.kind === "result") w.resolve(frame);
        else w.reject(new BrokerError(h.message));
      } else if (h.kind === "error") {
        this.#error ??= new BrokerError(h.message);
      }
    }
  }

  #handlerOf(key: string): Set<(m: Message) => void> | undefined {
    return this.#unlistening.has(key) ? undefined : this.#handlers.get(key);
  }

  /** Tells the connector how many messages of this connection the handlers are done with. */
  #confirm(): void {
    const upto = Math.min(this.#got - (this.#handling ? 1 : 0), this.#confirmLimit);
    if (upto > this.#confirmed) {
      this.#confirmed = upto;
      this.#link.send({ kind: "delivered", n: upto });
    }
  }

  /** Stops the connector's listen behind `key` (what it handed and is not confirmed goes back). */
  #unlisten(key: string, type: string, tag: string | undefined): void {
    if (this.#closedReason !== undefined) return;
    // confirmed first: what the handlers are done with must not go back
    this.#confirm();
    const id = this.#id();
    this.#unlistening.set(key, id);
    this.#call({ kind: "unlisten", id, types: [type], ...(tag === undefined ? {} : { tag }) })
      .catch(() => {}); // only a closed connection fails it, and closing gives back the rest
  }

  #run(handlers: Set<(m: Message) => void>, m: Message): void {
    for (const f of handlers) {
      try {
        f(m);
      } catch {
        // the handler could not take it: it and every later message stay queued
        this.#confirmLimit = Math.min(this.#confirmLimit, this.#got - 1);
      }
    }
  }

  #id(): string {
    return `${this.#prefix}-${(this.#seq++).toString(36)}`;
  }

  #call(header: Header & { id: string }, data?: Uint8Array, binary?: Uint8Array): Promise<Frame> {
    if (this.#closedReason !== undefined) {
      return Promise.reject(
        new BrokerError(`Connection to the connector closed: ${this.#closedReason}`),
      );
    }
    return new Promise((resolve, reject) => {
      this.#waiters.set(header.id, { resolve, reject });
      this.#link.send(header, data, binary);
    });
  }

  /** {@inheritDoc BrokerApi.send} */
  async send(
    dst: string,
    type: string,
    data?: unknown,
    options: SendOptions & { pub?: boolean } = {},
  ): Promise<string> {
    const { bytes, enc } = encodeData(data);
    const id = options.id ?? this.#id();
    const h: MsgHeader = { kind: "msg", type, src: "", dst, id };
    if (enc) h.enc = enc;
    if (options.replyTo !== undefined) h.replyTo = options.replyTo;
    if (options.tag !== undefined) h.tag = options.tag;
    if (options.pub) h.pub = true;
    if (options.ack) {
      h.ack = true;
      await this.#call(h, bytes, options.binary);
      return id;
    }
    if (this.#closedReason !== undefined) {
      throw new BrokerError(`Connection to the connector closed: ${this.#closedReason}`);
    }
    if (!this.#link.send(h, bytes, options.binary ?? EMPTY)) await this.#link.writer.drained();
    return id;
  }

  /** {@inheritDoc BrokerApi.request} */
  async request(
    dst: string,
    type: string,
    data?: unknown,
    options: RequestOptions = {},
  ): Promise<Message> {
    const { bytes, enc } = encodeData(data);
    const timeout = options.timeoutMs ?? 10_000;
    const h: MsgHeader = { kind: "msg", type, src: "", dst, id: this.#id(), timeout };
    if (enc) h.enc = enc;
    let timer: ClockTimer | undefined;
    try {
      const frame = await Promise.race([
        this.#call(h, bytes, options.binary),
        new Promise<never>((_, reject) =>
          timer = systemClock.after(
            timeout + 1000,
            () => reject(new RequestTimeoutError(h.id, dst, type, timeout)),
          )
        ),
      ]);
      return toMessage(frame);
    } finally {
      timer?.clear();
      this.#waiters.delete(h.id);
    }
  }

  /** {@inheritDoc BrokerApi.publish} */
  publish(type: string, data?: unknown, options: SendOptions = {}): Promise<string> {
    return this.send("", type, data, { ...options, pub: true });
  }

  /** {@inheritDoc BrokerApi.subscribe} */
  async subscribe(types: string[], options: { unsubscribe?: boolean } = {}): Promise<void> {
    await this.#call({
      kind: "subscribe",
      id: this.#id(),
      types,
      ...(options.unsubscribe ? { unsubscribe: true } : {}),
    });
  }

  /**
   * Calls `handler` for each message of `type` (queued ones first); each is
   * confirmed to the connector, and so leaves its queue, once the handler
   * returned. A handler that throws refuses the message: it and every later
   * one stay unconfirmed, and the connector queues them again for the next
   * listener once this client closes (close it after such a failure). With
   * a tag, only live messages carrying it; do not listen to one type both
   * with and without a tag on one client: the message would come twice.
   *
   * The returned subscription's `close()` stops `handler` at once. Once
   * the last handler of this type (and tag) on this client is closed, the
   * client sends `unlisten`: what the connector handed it and it has not
   * confirmed goes back to the queue, in order, for the next listener; a
   * message arriving after that reaches no handler. `sync()` after
   * `close()` resolves once the connector has stopped the listen.
   *
   * @example
   * ```ts
   * const sub = await c.listen("job", (m) => console.log(m.data));
   * sub.close(); // the next "job" messages stay queued
   * await c.sync();
   * ```
   */
  async listen(
    type: string,
    handler: (msg: Message) => void,
    options: ListenOptions = {},
  ): Promise<Subscription> {
    const key = options.tag === undefined ? type : keyOf(type, options.tag);
    let set = this.#handlers.get(key);
    const first = !set;
    if (!set) this.#handlers.set(key, set = new Set());
    set.add(handler);
    if (first) {
      try {
        await this.#call({
          kind: "listen",
          id: this.#id(),
          types: [type],
          confirm: true,
          ...(options.tag === undefined ? {} : { tag: options.tag }),
        });
      } catch (err) {
        // refused (a cap): nothing listens, so a later listen must ask again
        if (this.#handlers.get(key) === set) this.#handlers.delete(key);
        throw err;
      }
    }
    const close = () => {
      if (!set.delete(handler) || set.size > 0 || this.#handlers.get(key) !== set) return;
      this.#handlers.delete(key);
      this.#unlisten(key, type, options.tag);
    };
    return { close, [Symbol.dispose]: close };
  }

  /** {@inheritDoc BrokerApi.sendFile} */
  async sendFile(
    dst: string,
    type: string,
    path: string,
    options: SendFileOptions = {},
  ): Promise<FileResult> {
    const h: Header & { id: string } = { kind: "sendFile", id: this.#id(), dst, type, path };
    if (options.name !== undefined) h.name = options.name;
    if (options.delete) h.delete = true;
    const frame = await this.#call(h);
    return (frame.header as { value: FileResult }).value;
  }

  /**
   * Resolves once the connector has handled everything sent before it (and
   * its journals are on disk); rejects with the first error a fire-and-forget
   * send caused.
   */
  async sync(): Promise<void> {
    await this.#call({ kind: "sync", id: this.#id() });
    if (this.#error) {
      const e = this.#error;
      this.#error = undefined;
      throw e;
    }
  }

  /** Runs an admin operation (`status`, `peers`, `queues`, `ping`, `block`, `unblock`, `revoke`, `stop`). */
  async admin(op: string, args: Record<string, unknown> = {}): Promise<unknown> {
    const frame = await this.#call({ kind: "admin", id: this.#id(), op, args });
    return (frame.header as { value?: unknown }).value;
  }

  /** Closes the socket. Idempotent. */
  async close(): Promise<void> {
    this.#link.close("client closing");
    await this.#link.closed;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
