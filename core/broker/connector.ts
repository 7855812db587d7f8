import type { Socket } from "node:net";
import { connect, listen, type Server } from "../net/mod.ts";
import type { PeerIdentity } from "../net/mod.ts";
import { PayloadTooLargeError } from "../net/mod.ts";
import { type Logger, nullLogger } from "../log/mod.ts";
import { type DataBytes, encodePayload, type Frame, type MsgHeader, prepareData } from "./frame.ts";
import { Link } from "./link.ts";
import { PeerState } from "./peer.ts";
import { TypeQueues } from "./type_queues.ts";
import { Dedupe } from "./dedupe.ts";
import { fileChunks, FileReceiver } from "./files.ts";
import { BrokerError, RequestTimeoutError } from "./errors.ts";
import type {
  BrokerApi,
  FileResult,
  Message,
  RequestOptions,
  SendOptions,
  Subscription,
} from "./api.ts";
import { LocalApi } from "./local_api.ts";
import { toMessage } from "./message.ts";
import {
  type ConnectorOptions,
  DEFAULT_MAX_FRAME,
  DEFAULT_PERSIST_MAX,
  type PeerEvent,
  PROTOCOL_VERSION,
  type Sink,
  SOCKET_NAME,
} from "./options.ts";

export * from "./options.ts";

const EMPTY: Uint8Array = new Uint8Array(0);
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.@-]{0,127}$/;

/** A pending request (or file transfer) waiting for its response. */
interface Pending {
  resolve(h: MsgHeader, data: Uint8Array, binary: Uint8Array, payload: Uint8Array): void;
  reject(err: Error): void;
  timer: ReturnType<typeof setTimeout> | undefined;
}

/** State of one link. */
interface LinkState {
  link: Link;
  peer: PeerState | undefined;
  /** Messages received on this link. */
  recv: number;
  /** Messages acknowledged back. */
  acked: number;
  needFlush: boolean;
  /** Queue flushes in progress; acks wait behind them. */
  flushing: number;
  ackChain: Promise<void>;
  identity: PeerIdentity | undefined;
}

/**
 * A broker connector: the server side (`server` option) accepts client
 * connectors over mutual TLS; a client side (`client` option) keeps one link
 * to the server, reconnecting with backoff. Both push messages, keep a
 * journal per peer while it is away, queue messages of types nobody listens
 * to, answer acknowledgements once messages are durable, and serve the local
 * API socket.
 *
 * @example
 * ```ts
 * await using c = await Connector.start({ name: "alice", dir: "state", client: { host, port, tls } });
 * c.listen("chat", (m) => console.log(m.src, m.data));
 * await c.send("server", "chat", "hello", { ack: true });
 * ```
 */
export class Connector implements BrokerApi, AsyncDisposable {
  readonly name: string;
  readonly dir: string;
  readonly #opts: ConnectorOptions;
  readonly #log: Logger;
  readonly #maxFrame: number;
  readonly #peers = new Map<string, PeerState>();
  readonly #links = new Set<LinkState>();
  readonly #listeners = new Map<string, Set<Sink>>();
  readonly #pending = new Map<string, Pending>();
  readonly #dedupe = new Map<string, Dedupe>();
  readonly #queues: TypeQueues;
  readonly #files: FileReceiver;
  readonly #abort = new AbortController();
  #server: Server | undefined;
  #local: LocalApi | undefined;
  #clientLoop: Promise<void> | undefined;
  #wakeClient: (() => void) | undefined;
  #closing: Promise<void> | undefined;
  #idPrefix = crypto.randomUUID().slice(0, 8);
  #idSeq = 0;
  #fatal: ((err: Error) => void) | undefined;
  /** The name the server gave in its welcome (routes like the configured server name). */
  #serverWelcomeName: string | undefined;
  #stopRequested: (() => void) | undefined;
  readonly startedAt = new Date();
  /** Rejects when the server refuses this client for good (wrong name); never resolves. */
  readonly fatal: Promise<never>;
  /** Resolves when a `stop` arrives through the local API. */
  readonly stopRequested: Promise<void>;

  private constructor(opts: ConnectorOptions) {
    if (!NAME_RE.test(opts.name)) {
      throw new TypeError(
        `Invalid connector name "${opts.name}": use letters, digits, "_", ".", "@" or "-"`,
      );
    }
    this.name = opts.name;
    this.dir = opts.dir;
    this.#opts = opts;
    this.#log = opts.logger ?? nullLogger;
    this.#maxFrame = opts.maxFrameBytes ?? DEFAULT_MAX_FRAME;
    try {
      Deno.mkdirSync(opts.dir, { recursive: true, mode: 0o700 });
      Deno.mkdirSync(`${opts.dir}/journal`, { recursive: true, mode: 0o700 });
    } catch (err) {
      throw new Error(
        `Cannot create the state directory "${opts.dir}": ${
          (err as Error).message
        } (pick a writable --dir)`,
        { cause: err },
      );
    }
    this.#queues = new TypeQueues(`${opts.dir}/queues`, this.#journalOpts("queue"));
    this.#files = new FileReceiver(opts.fileDirs ?? {});
    this.fatal = new Promise<never>((_, reject) => this.#fatal = reject);
    this.fatal.catch(() => {});
    this.stopRequested = new Promise<void>((r) => this.#stopRequested = r);
  }

  #journalOpts(what: string) {
    return {
      maxBytes: this.#opts.persistMaxBytes ?? DEFAULT_PERSIST_MAX,
      fsync: this.#opts.fsync ?? true,
      onCorruptTail: (c: { path: string; offset: number; kept: number; reason: string }) =>
        this.#log.warn(`corrupt ${what} tail skipped`, {
          file: c.path,
          offset: c.offset,
          kept: c.kept,
          reason: c.reason,
        }),
    };
  }

  /** Starts a connector: opens journals and queues, the listener or the client link, the local socket. */
  static async start(opts: ConnectorOptions): Promise<Connector> {
    if (!opts.server === !opts.client) {
      throw new TypeError("Connector needs exactly one of the server or client options");
    }
    const c = new Connector(opts);
    try {
      c.#openPeers();
      if (opts.localSocket ?? true) {
        c.#local = await LocalApi.start(`${opts.dir}/${SOCKET_NAME}`, c, {
          maxFrameBytes: c.#maxFrame,
          logger: c.#log,
        });
      }
      if (opts.server) {
        c.#server = await listen({
          host: opts.server.host ?? "0.0.0.0",
          port: opts.server.port,
          tls: opts.server.tls,
          requireClientCert: !opts.server.trustAnyClient,
          logger: c.#log,
          graceMs: 2000,
          ...(opts.server.authorize ? { authorize: opts.server.authorize } : {}),
        }, (conn, signal) => c.#serveLink(conn.socket, conn.peer, signal));
      } else {
        c.#peer(opts.client!.serverName ?? "server");
        c.#clientLoop = c.#runClient();
      }
    } catch (err) {
      await c.close();
      throw err;
    }
    return c;
  }

  /** Opens the journals already on disk (peers with queued messages). */
  #openPeers(): void {
    const dir = `${this.dir}/journal`;
    try {
      for (const e of Deno.readDirSync(dir)) {
        if (e.isFile && e.name.endsWith(".journal")) {
          this.#peer(decodeURIComponent(e.name.slice(0, -".journal".length)));
        }
      }
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
  }

  /** The bound port (server connector). */
  get port(): number {
    return this.#server?.port ?? 0;
  }

  /** Path of the local API socket. */
  get socketPath(): string {
    return `${this.dir}/${SOCKET_NAME}`;
  }

  /** Whether this is the server connector. */
  get isServer(): boolean {
    return this.#opts.server !== undefined;
  }

  #peer(name: string): PeerState {
    let p = this.#peers.get(name);
    if (!p) {
      p = new PeerState(name, `${this.dir}/journal`, this.#journalOpts("journal"));
      this.#peers.set(name, p);
    }
    return p;
  }

  /** The peer state a destination resolves to (throws for a bad or unreachable name). */
  #route(dst: string | undefined): PeerState {
    if (this.#opts.client) {
      const server = this.#opts.client.serverName ?? "server";
      if (dst === undefined || dst === "" || dst === server || dst === this.#serverWelcomeName) {
        return this.#peer(server);
      }
      throw new BrokerError(
        `Unknown destination "${dst}": client connector "${this.name}" reaches only its server "${server}"`,
      );
    }
    if (dst === undefined || dst === "") {
      throw new BrokerError("Missing destination: name the client connector to send to");
    }
    if (!NAME_RE.test(dst)) throw new BrokerError(`Invalid destination name "${dst}"`);
    return this.#peer(dst);
  }

  /** A new message id, unique for this process. */
  newId(): string {
    return `${this.#idPrefix}${(this.#idSeq++).toString(36)}`;
  }

  #checkSize(header: MsgHeader, data: DataBytes, binary: Uint8Array): void {
    const dl = typeof data === "string" ? data.length * 3 : data.length;
    if (dl + binary.length + 4096 < this.#maxFrame) return;
    const enc = new TextEncoder();
    const exact = typeof data === "string" ? enc.encode(data).length : data.length;
    const size = 8 + enc.encode(JSON.stringify(header)).length + exact + binary.length;
    if (size > this.#maxFrame) {
      throw new PayloadTooLargeError(size, this.#maxFrame, "Message");
    }
  }

  /** Sends a prepared message (used by the local API too). */
  sendHeader(
    header: MsgHeader,
    data: DataBytes,
    binary: Uint8Array,
    onAck?: (err?: Error) => void,
  ): true | Promise<void> {
    const peer = this.#route(header.dst);
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

  /** Registers a pending response for `id`, with a timeout. */
  expect(
    id: string,
    dst: string,
    type: string,
    timeoutMs: number,
    p: Omit<Pending, "timer">,
  ): void {
    const timer = timeoutMs > 0
      ? setTimeout(() => {
        this.#pending.delete(id);
        p.reject(new RequestTimeoutError(id, dst, type, timeoutMs));
      }, timeoutMs)
      : undefined;
    this.#pending.set(id, { ...p, timer });
  }

  /** Drops a pending response (its send failed). */
  unexpect(id: string): void {
    const p = this.#pending.get(id);
    if (p?.timer !== undefined) clearTimeout(p.timer);
    this.#pending.delete(id);
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
        this.expect(id, dst, type, timeoutMs, {
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

  /** {@inheritDoc BrokerApi.listen} */
  listen(type: string, handler: (msg: Message) => void): Subscription {
    const sink: Sink = {
      deliver: (h, data, binary) => handler(toMessage(h, data, binary)),
    };
    return this.addSink([type], sink);
  }

  /** Attaches a sink to types; queued messages of those types are handed to it first. */
  addSink(types: string[], sink: Sink): Subscription {
    for (const type of types) {
      let set = this.#listeners.get(type);
      if (!set) this.#listeners.set(type, set = new Set());
      set.add(sink);
      for (const payload of this.#queues.take(type)) {
        const v = new DataView(payload.buffer, payload.byteOffset);
        const hl = v.getUint32(0);
        const h = JSON.parse(new TextDecoder().decode(payload.subarray(4, 4 + hl))) as MsgHeader;
        const dl = v.getUint32(4 + hl);
        sink.deliver(
          h,
          payload.subarray(8 + hl, 8 + hl + dl),
          payload.subarray(8 + hl + dl),
          payload,
        );
      }
    }
    const close = () => {
      for (const type of types) {
        const set = this.#listeners.get(type);
        set?.delete(sink);
        if (set?.size === 0) this.#listeners.delete(type);
      }
    };
    return { close, [Symbol.dispose]: close };
  }

  /** {@inheritDoc BrokerApi.sendFile} */
  async sendFile(
    dst: string,
    type: string,
    path: string,
    options: { timeoutMs?: number } = {},
  ): Promise<FileResult> {
    const transfer = this.newId();
    let failed: Error | undefined;
    const done = new Promise<FileResult>((resolve, reject) => {
      this.expect(transfer, dst, type, 0, {
        resolve: (_h, data) => {
          const r = JSON.parse(new TextDecoder().decode(data)) as
            & { ok: boolean; error?: string }
            & FileResult;
          if (r.ok) resolve({ path: r.path, bytes: r.bytes, files: r.files, dir: r.dir });
          else reject(failed = new BrokerError(`Peer "${dst}" refused the file: ${r.error}`));
        },
        reject: (err) => reject(failed = err),
      });
    });
    done.catch(() => {});
    let i = 0;
    try {
      for await (const chunk of fileChunks(path, transfer)) {
        if (failed) break;
        const header: MsgHeader = {
          kind: "msg",
          type,
          src: this.name,
          dst,
          id: `${transfer}.${i++}`,
          file: chunk.meta,
        };
        const r = this.sendHeader(header, EMPTY, chunk.bytes);
        if (r !== true) await r;
      }
    } catch (err) {
      this.unexpect(transfer);
      throw err;
    }
    const timeoutMs = options.timeoutMs ?? 600_000;
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      return await Promise.race([
        done,
        new Promise<never>((_, reject) =>
          timer = setTimeout(() => {
            this.unexpect(transfer);
            reject(new RequestTimeoutError(transfer, dst, type, timeoutMs));
          }, timeoutMs)
        ),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Resolves once every message sent on a live link has been acknowledged,
   * or after `timeoutMs` (default 2000); returns whether all were.
   */
  async settled(timeoutMs = 2000): Promise<boolean> {
    const end = Date.now() + timeoutMs;
    while ([...this.#peers.values()].some((p) => p.online && p.unacked > 0)) {
      if (Date.now() > end) return false;
      await new Promise((r) => setTimeout(r, 10));
    }
    return true;
  }

  /** Resolves once every queued journal and queue append is on disk. */
  async sync(): Promise<void> {
    await Promise.all([...this.#peers.values()].map((p) => p.journal.flush()));
    await this.#queues.flush();
  }

  // ---- links ----

  #newLink(socket: Socket, identity: PeerIdentity | undefined): LinkState {
    const state: LinkState = {
      link: undefined as unknown as Link,
      peer: undefined,
      recv: 0,
      acked: 0,
      needFlush: false,
      flushing: 0,
      ackChain: Promise.resolve(),
      identity,
    };
    state.link = new Link(socket, {
      maxFrameBytes: this.#maxFrame,
      heartbeatMs: this.#opts.heartbeatMs ?? 5000,
      onFrame: (frame, payload) => this.#onFrame(state, frame, payload),
      onChunkDone: () => this.#ack(state),
      onClose: (reason) => this.#onLinkClosed(state, reason),
    });
    this.#links.add(state);
    return state;
  }

  async #serveLink(socket: Socket, identity: PeerIdentity, signal: AbortSignal): Promise<void> {
    const state = this.#newLink(socket, identity);
    const hello = setTimeout(() => {
      if (!state.peer) state.link.close("no hello within 10 s");
    }, 10_000);
    const onAbort = () => state.link.close("server closing");
    signal.addEventListener("abort", onAbort, { once: true });
    await state.link.closed;
    clearTimeout(hello);
    signal.removeEventListener("abort", onAbort);
  }

  async #runClient(): Promise<void> {
    const c = this.#opts.client!;
    const min = this.#opts.backoff?.minMs ?? 200;
    const max = this.#opts.backoff?.maxMs ?? 5000;
    let delay = min;
    const signal = this.#abort.signal;
    while (!signal.aborted) {
      const server = this.#peer(c.serverName ?? "server");
      if (!server.blocked) {
        try {
          const conn = await connect({ host: c.host, port: c.port, tls: c.tls, signal });
          const state = this.#newLink(conn.socket, conn.peer);
          state.link.send({ kind: "hello", name: this.name, v: PROTOCOL_VERSION });
          const onAbort = () => state.link.close("connector closing");
          signal.addEventListener("abort", onAbort, { once: true });
          await state.link.closed;
          signal.removeEventListener("abort", onAbort);
          if (state.peer) delay = min;
          else if (!signal.aborted) {
            this.#log.warn("cannot reach server", {
              error:
                "the server closed the connection before accepting this connector (is its certificate unknown, revoked or blocked?)",
              retryMs: delay,
            });
          }
        } catch (err) {
          if (signal.aborted) break;
          this.#log.warn("cannot reach server", { error: (err as Error).message, retryMs: delay });
        }
      }
      if (signal.aborted) break;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, delay);
        this.#wakeClient = () => {
          clearTimeout(t);
          resolve();
        };
        signal.addEventListener("abort", () => {
          clearTimeout(t);
          resolve();
        }, { once: true });
      });
      this.#wakeClient = undefined;
      delay = Math.min(delay * 2, max);
    }
  }

  #onFrame(state: LinkState, frame: Frame, payload: Uint8Array): void {
    const h = frame.header;
    switch (h.kind) {
      case "msg":
        this.#onMsg(state, h, frame, payload);
        return;
      case "acks":
        state.peer?.acked(h.n);
        return;
      case "hello":
        this.#onHello(state, h.name);
        return;
      case "welcome": {
        if (this.isServer || state.peer) break;
        const name = this.#opts.client!.serverName ?? "server";
        this.#serverWelcomeName = h.name;
        if (h.name !== name) {
          this.#log.debug("server connector has another name", { expected: name, got: h.name });
        }
        const peer = this.#peer(name);
        this.#attach(state, peer);
        this.#log.info("connected to server", {
          server: `${this.#opts.client!.host}:${this.#opts.client!.port}`,
          replayed: peer.unacked,
        });
        return;
      }
      case "error": {
        if (h.fatal) {
          this.#log.error("refused by server", { reason: h.message });
          this.#fatal?.(new BrokerError(`Refused by the server: ${h.message}`));
          this.#abort.abort();
        } else this.#log.warn("peer reported an error", { reason: h.message });
        state.link.close(h.message);
        return;
      }
    }
    state.link.close(`unexpected frame kind "${h.kind}"`);
  }

  #onHello(state: LinkState, name: string): void {
    if (!this.isServer || state.peer) {
      state.link.close("unexpected hello");
      return;
    }
    const cn = state.identity?.cn;
    const where = `${state.identity?.address}:${state.identity?.port}`;
    if (!state.identity?.fingerprint) {
      state.link.send({ kind: "error", message: "no client certificate presented", fatal: true });
      state.link.close("no client certificate");
      return;
    }
    if (typeof name !== "string" || name !== cn) {
      const reason =
        `certificate names "${cn}" but the connector claims the name "${name}" (issue a certificate for "${name}" with "sockkit certs issue ${name}")`;
      this.#log.warn("refused client", { peer: where, reason });
      state.link.send({ kind: "error", message: reason, fatal: true });
      state.link.close(reason);
      return;
    }
    const peer = this.#peer(name);
    if (peer.blocked) {
      state.link.send({ kind: "error", message: `peer "${name}" is blocked on the server` });
      state.link.close("blocked");
      return;
    }
    if (peer.link?.open) {
      this.#log.warn("replacing the existing link of a reconnected client", { peer: name });
      peer.link.close("replaced by a new connection");
      for (const s of this.#links) if (s.peer === peer && s !== state) this.#detach(s);
    }
    state.link.send({ kind: "welcome", name: this.name, v: PROTOCOL_VERSION });
    this.#attach(state, peer);
    peer.address = where;
    peer.cn = cn;
    this.#log.info("client connected", { peer: name, address: where, replayed: peer.unacked });
  }

  #attach(state: LinkState, peer: PeerState): void {
    state.peer = peer;
    peer.attach(state.link);
    this.#emitPeer(state, "connected");
  }

  #emitPeer(state: LinkState, event: "connected" | "disconnected", reason?: string): void {
    if (!this.#opts.onPeer || !state.peer) return;
    const e: PeerEvent = {
      peer: state.peer.name,
      event,
      address: `${state.identity?.address}:${state.identity?.port}`,
    };
    if (state.identity?.fingerprint) e.fingerprint = state.identity.fingerprint;
    if (reason !== undefined) e.reason = reason;
    try {
      this.#opts.onPeer(e);
    } catch (err) {
      this.#log.error("onPeer failed", { error: (err as Error).message });
    }
  }

  #detach(state: LinkState): void {
    const peer = state.peer;
    if (!peer || peer.link !== state.link) return;
    peer.detach();
  }

  #onLinkClosed(state: LinkState, reason: string): void {
    if (!this.#links.delete(state)) return;
    if (state.peer) {
      this.#log.info("peer disconnected", { peer: state.peer.name, reason });
      this.#detach(state);
      this.#emitPeer(state, "disconnected", reason);
    }
  }

  #onMsg(state: LinkState, h: MsgHeader, frame: Frame, payload: Uint8Array): void {
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
      const res = this.#files.chunk(h.type, h.src, h.file, frame.binary);
      if (res) {
        const answer = res.ok ? { ok: true, ...res.result } : { ok: false, error: res.error };
        if (!res.ok) {
          this.#log.warn("file refused", { from: h.src, type: h.type, error: res.error });
        }
        this.send(h.src, h.type, answer, { replyTo: h.file.transfer }).catch((err) =>
          this.#log.warn("cannot answer file sender", { error: (err as Error).message })
        );
        if (res.ok) {
          const note: MsgHeader = {
            kind: "msg",
            type: h.type,
            src: h.src,
            dst: h.dst,
            id: h.file.transfer,
            enc: "json",
          };
          const data = new TextEncoder().encode(
            JSON.stringify({ file: h.file.name, ...res.result }),
          );
          this.#deliver(state, note, data, EMPTY, undefined);
        }
      }
      return;
    }
    if (h.replyTo !== undefined) {
      const p = this.#pending.get(h.replyTo);
      if (p) {
        this.#pending.delete(h.replyTo);
        if (p.timer !== undefined) clearTimeout(p.timer);
        p.resolve(h, frame.data, frame.binary, payload);
        return;
      }
    }
    this.#deliver(state, h, frame.data, frame.binary, payload);
  }

  #deliver(
    state: LinkState,
    h: MsgHeader,
    data: Uint8Array,
    binary: Uint8Array,
    payload: Uint8Array | undefined,
  ): void {
    const sinks = this.#listeners.get(h.type);
    if (sinks && sinks.size > 0) {
      payload ??= encodePayload(h, data, binary);
      for (const s of sinks) {
        try {
          if (s.deliver(h, data, binary, payload) === false && s.drained) {
            state.link.hold(s.drained());
          }
        } catch (err) {
          this.#log.error("listener failed", { type: h.type, error: (err as Error).message });
        }
      }
      return;
    }
    try {
      this.#queues.push(h.type, payload ?? encodePayload(h, data, binary));
      state.needFlush = true;
    } catch (err) {
      this.#log.error("cannot queue message", { type: h.type, error: (err as Error).message });
    }
  }

  #ack(state: LinkState): void {
    if (!state.peer || state.recv === state.acked) return;
    const n = state.recv;
    state.acked = n;
    if (state.needFlush) {
      state.needFlush = false;
      state.flushing++;
      state.ackChain = state.ackChain.then(() => this.#queues.flush()).then(
        () => void state.link.send({ kind: "acks", n }),
        (err) => this.#log.error("cannot persist queue", { error: (err as Error).message }),
      ).finally(() => void state.flushing--);
    } else if (state.flushing === 0) {
      state.link.send({ kind: "acks", n });
    } else {
      state.ackChain = state.ackChain.then(() => void state.link.send({ kind: "acks", n }));
    }
  }

  // ---- admin ----

  /** Connected and known peers. */
  peers(): Array<Record<string, unknown>> {
    return [...this.#peers.values()].map((p) => ({
      name: p.name,
      connected: p.link?.open === true,
      address: p.link?.open
        ? (p.address ??
          (this.#opts.client ? `${this.#opts.client.host}:${this.#opts.client.port}` : ""))
        : "",
      cn: p.cn ?? "",
      since: p.since?.toISOString() ?? "",
      msgsIn: p.stats.msgsIn,
      msgsOut: p.stats.msgsOut,
      blocked: p.blocked,
    }));
  }

  /** Journal sizes per peer and queue sizes per type. */
  queueSizes(): {
    journals: Array<Record<string, unknown>>;
    types: Array<Record<string, unknown>>;
  } {
    return {
      journals: [...this.#peers.values()].map((p) => ({
        peer: p.name,
        messages: p.journal.count,
        bytes: p.journal.size,
        unacked: p.unacked,
      })),
      types: this.#queues.sizes(),
    };
  }

  /** Round trip to a connected peer, ms. */
  ping(name: string, timeoutMs = 5000): Promise<number> {
    const p = this.#peers.get(name);
    if (!p?.link?.open) return Promise.reject(new BrokerError(`Peer "${name}" is not connected`));
    return p.link.ping(timeoutMs);
  }

  /** Stops a peer's traffic both ways (its messages stay queued) until `unblock`. */
  block(name: string): void {
    const p = this.#route(name);
    p.blocked = true;
    p.link?.close("blocked");
  }

  /** Lets a blocked peer's traffic flow again. */
  unblock(name: string): void {
    const p = this.#route(name);
    p.blocked = false;
    this.#wakeClient?.();
  }

  /** Closes a peer's link now (after revocation). */
  disconnect(name: string): boolean {
    const p = this.#peers.get(name);
    if (!p?.link?.open) return false;
    p.link.close("disconnected by the operator");
    return true;
  }

  /** Revokes a client's certificate (server only, through the `revoke` option) and disconnects it. */
  async revoke(name: string): Promise<boolean> {
    if (!this.#opts.revoke) {
      throw new BrokerError("This connector cannot revoke certificates (not a server)");
    }
    await this.#opts.revoke(name);
    return this.disconnect(name);
  }

  /** Asks the process running this connector to stop (local API `stop`). */
  requestStop(): void {
    this.#stopRequested?.();
  }

  /** A summary for `broker status`. */
  status(): Record<string, unknown> {
    return {
      name: this.name,
      role: this.isServer ? "server" : "client",
      port: this.port,
      socket: this.socketPath,
      dir: this.dir,
      startedAt: this.startedAt.toISOString(),
      peers: [...this.#peers.values()].filter((p) => p.link?.open).length,
      journaled: [...this.#peers.values()].reduce((n, p) => n + p.journal.count, 0),
      queued: this.#queues.sizes().reduce((n, q) => n + q.messages, 0),
    };
  }

  /**
   * Graceful stop: closes the local socket and the listener or client link,
   * writes unacknowledged messages back to the journals, closes files. Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#abort.abort();
      await this.#local?.close();
      await Promise.allSettled([...this.#links].map((s) => s.ackChain));
      for (const s of this.#links) s.link.close("connector closing");
      await this.#server?.close();
      await Promise.allSettled([...this.#links].map((s) => s.link.closed));
      await this.#clientLoop;
      for (const s of [...this.#links]) this.#onLinkClosed(s, "connector closed");
      for (const [id, p] of this.#pending) {
        if (p.timer !== undefined) clearTimeout(p.timer);
        p.reject(
          new BrokerError(`Connector "${this.name}" closed before request "${id}" was answered`),
        );
      }
      this.#pending.clear();
      for (const p of this.#peers.values()) {
        p.failPending(
          new BrokerError(`Connector "${this.name}" closed before the peer acknowledged`),
        );
        p.journal.close();
      }
      this.#queues.close();
      this.#files.close();
    })();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
