import type { Server } from "../net/mod.ts";
import { type Logger, nullLogger } from "../log/mod.ts";
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
import type { Router } from "./router.ts";
import { toMessage } from "./message.ts";
import { type ConnectorOptions, type Sink, SOCKET_NAME } from "./options.ts";
import { ConnectorAdmin } from "./admin.ts";
import { NAME_RE } from "./_peer_table.ts";
import type { ClientLoop } from "./_client_loop.ts";
import { sendFile } from "./_send_file.ts";
import { type ConnectorParts, connectorParts, startNetwork } from "./_parts.ts";
import { delay } from "../async/mod.ts";
import { type DirectoryLock, lockDirectorySync } from "../storage/mod.ts";

export * from "./options.ts";
export { ConnectorAdmin } from "./admin.ts";

/**
 * A broker connector: the server side (`server` option) accepts client
 * connectors over mutual TLS; a client side (`client` option) keeps one link
 * to the server, reconnecting with backoff. Both push messages, keep a
 * journal per peer while it is away, queue messages of types nobody listens
 * to, answer acknowledgements once messages are durable, and serve the local
 * API socket. Operator operations are on {@linkcode Connector.admin}.
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
  readonly #p: ConnectorParts;
  readonly #abort = new AbortController();
  #server: Server | undefined;
  #local: LocalApi | undefined;
  #client: ClientLoop | undefined;
  #closing: Promise<void> | undefined;
  /** Peers, listeners and pending replies: where messages go. */
  readonly router: Router;
  /** Status, peers, queues, block, filter, log level, revoke, reload, readiness. */
  readonly admin: ConnectorAdmin;
  #fatal: ((err: Error) => void) | undefined;
  #stopRequested: (() => void) | undefined;
  readonly startedAt = new Date();
  /** Rejects when the server refuses this client for good (wrong name); never resolves. */
  readonly fatal: Promise<never>;
  /** Resolves when a `stop` arrives through the local API. */
  readonly stopRequested: Promise<void>;

  /** This process's hold on the state directory (one connector per directory). */
  readonly #dirLock: DirectoryLock;

  private constructor(opts: ConnectorOptions, dirLock: DirectoryLock) {
    this.#dirLock = dirLock;
    if (!NAME_RE.test(opts.name)) {
      throw new TypeError(
        `Invalid connector name "${opts.name}": use letters, digits, "_", ".", "@" or "-"`,
      );
    }
    this.name = opts.name;
    this.dir = opts.dir;
    this.#opts = opts;
    this.#log = opts.logger ?? nullLogger;
    this.#p = connectorParts(opts, this.#log, (err) => {
      this.#fatal?.(err);
      this.#abort.abort();
    });
    this.router = this.#p.router;
    this.admin = new ConnectorAdmin({
      name: opts.name,
      dir: opts.dir,
      socketPath: this.socketPath,
      startedAt: this.startedAt,
      connector: opts,
      log: this.#log,
      peers: this.#p.peers,
      queues: this.#p.queues,
      clientFilter: this.#p.clientFilter,
      cluster: this.#p.bridge,
      server: () => this.#server,
      wake: () => this.#client?.wake(),
      sync: () => this.sync(),
    });
    this.fatal = new Promise<never>((_, reject) => this.#fatal = reject);
    this.fatal.catch(() => {});
    this.stopRequested = new Promise<void>((r) => this.#stopRequested = r);
  }

  /** Starts a connector: opens journals and queues, the listener or the client link, the local socket. */
  static async start(opts: ConnectorOptions): Promise<Connector> {
    if (!opts.server === !opts.client) {
      throw new TypeError("Connector needs exactly one of the server or client options");
    }
    // before anything in it is opened: a second connector on the same directory stops here
    const lock = lockDirectorySync(opts.dir, "broker state directory");
    let c: Connector;
    try {
      c = new Connector(opts, lock);
    } catch (err) {
      lock.release();
      throw err;
    }
    try {
      await c.#p.peers.openExisting();
      if (opts.client) await c.#p.inbound.open(opts.client.serverName ?? "server");
      if (opts.localSocket ?? true) {
        c.#local = await LocalApi.start(`${opts.dir}/${SOCKET_NAME}`, c, {
          maxFrameBytes: c.#p.maxFrameBytes,
          logger: c.#log,
        });
      }
      await c.#p.bridge?.start();
      const net = await startNetwork(opts, c.#p, c.#log, c.#abort.signal);
      c.#server = net.server;
      c.#client = net.client;
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
    while (this.#p.peers.all().some((p) => p.online && p.unacked > 0)) {
      if (Date.now() > end) return false;
      await delay(10);
    }
    return true;
  }

  /** Resolves once every queued journal and queue append is on disk. */
  async sync(): Promise<void> {
    await Promise.all(this.#p.peers.all().map((p) => p.journal.flush().catch(() => {})));
    await this.#p.queues.flush().catch(() => {});
  }

  /** Asks the process running this connector to stop (local API `stop`). */
  requestStop(): void {
    this.#stopRequested?.();
  }

  /**
   * Graceful stop: closes the local socket and the listener or client link,
   * writes unacknowledged messages back to the journals, closes files. Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      // Acknowledge what the links received (held-back acks too) while they are still
      // open: the abort closes a client's link, and an unacknowledged message would
      // stay journaled at the peer and be sent again after the next link-up.
      for (const s of this.#p.links.all) s.flushAcks();
      await Promise.allSettled(this.#p.links.all.map((s) => s.ackChain));
      this.#abort.abort();
      await this.#p.bridge?.close();
      await this.#local?.close();
      for (const s of this.#p.links.all) s.flushAcks(); // received since: sent if the link is open
      await Promise.allSettled(this.#p.links.all.map((s) => s.ackChain));
      for (const s of this.#p.links.all) s.link.close("connector closing");
      await this.#server?.close();
      await Promise.allSettled(this.#p.links.all.map((s) => s.link.closed));
      await this.#client?.done;
      for (const s of this.#p.links.all) s.detachNow("connector closed");
      this.#p.pending.rejectAll((id) =>
        new BrokerError(`Connector "${this.name}" closed before request "${id}" was answered`)
      );
      for (const p of this.#p.peers.all()) {
        p.failPending(
          new BrokerError(`Connector "${this.name}" closed before the peer acknowledged`),
        );
      }
      await Promise.all(this.#p.peers.all().map((p) => p.journal.close()));
      await this.#p.queues.close((type) => this.#p.inbound.listeners.handedOut(type));
      await this.#p.inbound.close();
      this.#p.files.close();
      this.#dirLock.release();
    })();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
