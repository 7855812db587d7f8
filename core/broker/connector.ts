import { type ConnectionHandler, listen, type Server } from "../net/mod.ts";
import { NetMetrics, type Readiness } from "../metrics/mod.ts";
import { registerBrokerMetrics } from "./metrics.ts";
import { ClientFilter, type FilterList, type FilterLists } from "./client_filter.ts";
import { type Logger, type LogLevel, nullLogger } from "../log/mod.ts";
import { TypeQueues } from "./type_queues.ts";
import type { LogDamage } from "../storage/mod.ts";
import { FileReceiver } from "./files.ts";
import { BrokerError } from "./errors.ts";
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
import { LocalApi } from "./local_api.ts";
import { Router } from "./router.ts";
import { PubSubHub, PubSubRule, Subscriptions } from "./pubsub.ts";
import { toMessage } from "./message.ts";
import {
  type ConnectorOptions,
  DEFAULT_MAX_FRAME,
  DEFAULT_PERSIST_MAX,
  type Sink,
  SOCKET_NAME,
} from "./options.ts";
import { PendingReplies } from "./_pending.ts";
import { NAME_RE, PeerTable } from "./_peer_table.ts";
import { Listeners } from "./_listeners.ts";
import { Inbound } from "./_inbound.ts";
import { PeerLinks } from "./_peer_links.ts";
import { ClientLoop } from "./_client_loop.ts";
import { sendFile } from "./_send_file.ts";
import { peerRows, queueReport, trafficSummary } from "./_admin.ts";
import { delay } from "../async/mod.ts";

export * from "./options.ts";

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
  /** The allow/deny lists a server connector checks clients against (`undefined` on a client). */
  readonly clientFilter: ClientFilter | undefined;
  readonly #opts: ConnectorOptions;
  readonly #log: Logger;
  readonly #maxFrame: number;
  readonly #peers: PeerTable;
  readonly #pending = new PendingReplies();
  readonly #queues: TypeQueues;
  readonly #files: FileReceiver;
  readonly #listeners: Listeners;
  readonly #links: PeerLinks;
  readonly #inbound: Inbound;
  readonly #abort = new AbortController();
  #server: Server | undefined;
  #local: LocalApi | undefined;
  #client: ClientLoop | undefined;
  #closing: Promise<void> | undefined;
  /** Peers, listeners and pending replies: where messages go. */
  readonly router: Router;
  #fatal: ((err: Error) => void) | undefined;
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
    this.#queues = new TypeQueues(`${opts.dir}/queues`, {
      ...this.#journalOpts("queue"),
      ...(opts.maxQueueTypes !== undefined ? { maxTypes: opts.maxQueueTypes } : {}),
    });
    this.#files = new FileReceiver(opts.fileDirs ?? {}, {
      ...(opts.onExists !== undefined ? { onExists: opts.onExists } : {}),
      ...(opts.fileStallMs !== undefined ? { stallMs: opts.fileStallMs } : {}),
      onAbandon: (t) => {
        this.#log.warn("file transfer abandoned", { from: t.from, type: t.type, error: t.error });
        this.#inbound.answer(t.from, t.type, t.transfer, { ok: false, error: t.error });
      },
    });
    this.#peers = new PeerTable({
      name: opts.name,
      dir: `${opts.dir}/journal`,
      journal: {
        ...this.#journalOpts("journal"),
        priorities: opts.priorities,
        onLost: (peer, id, err) =>
          this.#log.warn("message not delivered", { peer, id, error: err.message }),
      },
      serverName: opts.client ? (opts.client.serverName ?? "server") : undefined,
      queueForUnknown: opts.queueForUnknown ?? false,
      onLegacyDamage: (file, error) =>
        this.#log.warn("corrupt journal tail skipped", { file, reason: error }),
    });
    this.#listeners = new Listeners(this.#queues, this.#log);
    const peers = this.#peers;
    const hub = opts.server
      ? new PubSubHub({
        name: opts.name,
        rule: opts.server.pubsubRule ?? new PubSubRule(),
        subscriptions: new Subscriptions(`${opts.dir}/subscriptions.json`),
        route: (dst) => peers.route(dst),
        peer: (name) => peers.get(name),
      })
      : undefined;
    this.router = new Router({
      name: opts.name,
      maxFrameBytes: this.#maxFrame,
      peers: this.#peers,
      listeners: this.#listeners,
      pending: this.#pending,
      hub,
      onLost: (id, err) =>
        this.#log.warn("published message not stored", { id, error: err.message }),
    });
    this.clientFilter = opts.server ? new ClientFilter(opts.server.clientFilter) : undefined;
    this.#links = new PeerLinks({
      name: opts.name,
      connector: opts,
      ...(this.clientFilter ? { clientFilter: this.clientFilter } : {}),
      log: this.#log,
      maxFrameBytes: this.#maxFrame,
      peers: this.#peers,
      hub,
      inbound: this.#inbound = new Inbound({
        log: this.#log,
        listeners: this.#listeners,
        pending: this.#pending,
        files: this.#files,
        seenDir: `${opts.dir}/seen`,
        fsync: opts.fsync ?? true,
        send: (dst, type, data, options) => this.send(dst, type, data, options),
      }),
      onFatal: (err) => {
        this.#fatal?.(err);
        this.#abort.abort();
      },
    });
    this.fatal = new Promise<never>((_, reject) => this.#fatal = reject);
    this.fatal.catch(() => {});
    this.stopRequested = new Promise<void>((r) => this.#stopRequested = r);
  }

  #journalOpts(what: string) {
    return {
      maxBytes: this.#opts.persistMaxBytes ?? DEFAULT_PERSIST_MAX,
      fsync: this.#opts.fsync ?? true,
      onDamage: (d: LogDamage) =>
        this.#log.warn(
          d.kind === "torn" ? `corrupt ${what} tail skipped` : `corrupt ${what} record skipped`,
          { file: d.file, offset: d.offset, bytes: d.bytes, kept: d.kept, reason: d.reason },
        ),
    };
  }

  /** Starts a connector: opens journals and queues, the listener or the client link, the local socket. */
  static async start(opts: ConnectorOptions): Promise<Connector> {
    if (!opts.server === !opts.client) {
      throw new TypeError("Connector needs exactly one of the server or client options");
    }
    const c = new Connector(opts);
    try {
      await c.#peers.openExisting();
      if (opts.client) await c.#inbound.open(opts.client.serverName ?? "server");
      if (opts.localSocket ?? true) {
        c.#local = await LocalApi.start(`${opts.dir}/${SOCKET_NAME}`, c, {
          maxFrameBytes: c.#maxFrame,
          logger: c.#log,
        });
      }
      const dm = opts.daemonMetrics;
      const net = dm
        ? new NetMetrics(dm, {
          framesIn: () => c.#peers.all().reduce((n, p) => n + p.stats.msgsIn, 0),
          framesOut: () => c.#peers.all().reduce((n, p) => n + p.stats.msgsOut, 0),
        })
        : undefined;
      if (dm) registerBrokerMetrics(dm, () => c.#peers.all(), c.#queues);
      if (opts.server) {
        const serve: ConnectionHandler = (conn, signal) => c.#links.serve(conn, conn.peer, signal);
        c.#server = await listen({
          host: opts.server.host ?? "0.0.0.0",
          port: opts.server.port,
          tls: opts.server.tls,
          requireClientCert: !opts.server.trustAnyClient,
          logger: c.#log,
          graceMs: 2000,
          ...(net ? { onRefused: net.onRefused } : {}),
        }, net ? net.wrap(serve) : serve);
      } else {
        c.#peers.get(opts.client!.serverName ?? "server");
        c.#client = new ClientLoop({
          name: c.name,
          client: opts.client!,
          backoff: opts.backoff,
          log: c.#log,
          peers: c.#peers,
          links: c.#links,
          signal: c.#abort.signal,
        });
      }
    } catch (err) {
      await c.close();
      throw err;
    }
    return c;
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

  /** A new message id, unique for this process. */
  newId(): string {
    return this.router.newId();
  }

  /** {@inheritDoc BrokerApi.send} */
  send(dst: string, type: string, data?: unknown, options: SendOptions = {}): Promise<string> {
    return this.router.send(dst, type, data, options);
  }

  /** {@inheritDoc BrokerApi.request} */
  request(
    dst: string,
    type: string,
    data?: unknown,
    options: RequestOptions = {},
  ): Promise<Message> {
    return this.router.request(dst, type, data, options);
  }

  /** {@inheritDoc BrokerApi.publish} */
  publish(type: string, data?: unknown, options: SendOptions = {}): Promise<string> {
    return this.router.publish(type, data, options);
  }

  /** {@inheritDoc BrokerApi.subscribe} */
  subscribe(types: string[], options: { unsubscribe?: boolean } = {}): Promise<void> {
    return this.router.subscribe(types, options);
  }

  /** {@inheritDoc BrokerApi.listen} */
  listen(
    type: string,
    handler: (msg: Message) => void,
    options: ListenOptions = {},
  ): Subscription {
    const sink: Sink = {
      deliver: (h, data, binary) => handler(toMessage(h, data, binary)),
      tag: options.tag,
    };
    return this.addSink([type], sink);
  }

  /** Attaches a sink to types; queued messages of those types are handed to it first. */
  addSink(types: string[], sink: Sink): Subscription {
    return this.router.attach(types, sink);
  }

  /** {@inheritDoc BrokerApi.sendFile} */
  sendFile(
    dst: string,
    type: string,
    path: string,
    options: SendFileOptions = {},
  ): Promise<FileResult> {
    return sendFile(this.router, dst, type, path, options);
  }

  /**
   * Resolves once every message sent on a live link has been acknowledged,
   * or after `timeoutMs` (default 2000); returns whether all were.
   */
  async settled(timeoutMs = 2000): Promise<boolean> {
    const end = Date.now() + timeoutMs;
    while (this.#peers.all().some((p) => p.online && p.unacked > 0)) {
      if (Date.now() > end) return false;
      await delay(10);
    }
    return true;
  }

  /** Resolves once every queued journal and queue append is on disk. */
  async sync(): Promise<void> {
    await Promise.all(this.#peers.all().map((p) => p.journal.flush().catch(() => {})));
    await this.#queues.flush().catch(() => {});
  }

  // ---- admin ----

  /** Connected and known peers. */
  peers(): Array<Record<string, unknown>> {
    const client = this.#opts.client;
    return peerRows(this.#peers.all(), client ? `${client.host}:${client.port}` : undefined);
  }

  /** Journal sizes per peer and queue sizes per type. */
  queueSizes(): {
    journals: Array<Record<string, unknown>>;
    types: Array<Record<string, unknown>>;
  } {
    return queueReport(this.#peers.all(), this.#queues);
  }

  /** Round trip to a connected peer, ms. */
  ping(name: string, timeoutMs = 5000): Promise<number> {
    const p = this.#peers.find(name);
    if (!p?.link?.open) return Promise.reject(new BrokerError(`Peer "${name}" is not connected`));
    return p.link.ping(timeoutMs);
  }

  /** Stops a peer's traffic both ways (its messages stay queued) until `unblock`. */
  block(name: string): void {
    const p = this.#peers.route(name);
    p.blocked = true;
    p.link?.close("blocked");
  }

  /** Lets a blocked peer's traffic flow again. */
  unblock(name: string): void {
    const p = this.#peers.route(name);
    p.blocked = false;
    this.#client?.wake();
  }

  /**
   * Shows the client filter, or adds/removes an entry and applies the new
   * lists to connected clients at once (those now refused are disconnected).
   */
  filter(
    action: "show" | "add" | "remove",
    list?: FilterList,
    entry?: string,
  ): FilterLists & { changed?: boolean; disconnected?: string[] } {
    const f = this.clientFilter;
    if (!f) throw new BrokerError("Only a server connector has a client filter");
    if (action === "show") return f.lists();
    if (list !== "allow" && list !== "deny") {
      throw new TypeError(`Unknown filter list "${String(list)}": expected allow or deny`);
    }
    if (typeof entry !== "string") throw new TypeError(`Admin "filter ${action}" needs an entry`);
    const changed = action === "add" ? f.add(list, entry) : f.remove(list, entry);
    const disconnected: string[] = [];
    for (const p of this.#peers.all()) {
      if (!p.link?.open) continue;
      const ip = (p.address ?? "").replace(/:\d+$/, "");
      const why = f.check(p.name, ip);
      if (why === undefined) continue;
      p.link.send({ kind: "error", message: `refused by the server's client filter: ${why}` });
      p.link.close("refused by the client filter");
      this.#log.warn("disconnected client refused by the changed filter", {
        peer: p.name,
        reason: why,
      });
      disconnected.push(p.name);
    }
    return { ...f.lists(), changed, disconnected };
  }

  /** The log level of this connector's logger. */
  get logLevel(): LogLevel {
    return this.#log.level;
  }

  /** Changes the log level at run time (`broker log-level`). */
  setLogLevel(level: LogLevel): void {
    this.#log.setLevel(level);
    this.#log.info("log level changed", { level });
  }

  /** Closes a peer's link now without revoking it (`broker disconnect`, and after revocation). */
  disconnect(name: string): boolean {
    const p = this.#peers.find(name);
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

  /** The TLS listener of a server connector (for reloading its certificates). */
  get listener(): Server | undefined {
    return this.#server;
  }

  /** Reloads certificates and allow-list (local API `reload`, SIGHUP); throws when unusable. */
  reload(): Promise<Record<string, unknown>> {
    if (!this.#opts.reload) {
      return Promise.reject(
        new BrokerError("This connector has nothing to reload (only a server connector reloads)"),
      );
    }
    return this.#opts.reload();
  }

  /** Server: ready while listening. Client: ready while its link to the server is up. */
  ready(): Readiness {
    const peers = this.#peers.all();
    const up = peers.filter((p) => p.link?.open).map((p) => p.name);
    if (this.isServer) {
      return { ready: true, detail: `listening, links up: ${up.join(",") || "none"}` };
    }
    return up.length > 0
      ? { ready: true, detail: `link to ${up.join(",")} up` }
      : { ready: false, detail: "link to the server connector down (reconnecting)" };
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
      ...trafficSummary(this.#peers.all(), this.#queues),
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
      await Promise.allSettled(this.#links.all.map((s) => s.ackChain));
      for (const s of this.#links.all) s.link.close("connector closing");
      await this.#server?.close();
      await Promise.allSettled(this.#links.all.map((s) => s.link.closed));
      await this.#client?.done;
      for (const s of this.#links.all) s.detachNow("connector closed");
      this.#pending.rejectAll((id) =>
        new BrokerError(`Connector "${this.name}" closed before request "${id}" was answered`)
      );
      for (const p of this.#peers.all()) {
        p.failPending(
          new BrokerError(`Connector "${this.name}" closed before the peer acknowledged`),
        );
      }
      await Promise.all(this.#peers.all().map((p) => p.journal.close()));
      await this.#queues.close();
      await this.#inbound.close();
      this.#files.close();
    })();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
