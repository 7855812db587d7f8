import type { Status } from "nats";
import type { Logger } from "../../log/mod.ts";
import { type DataBytes, decodePayload, encodePayload, type MsgHeader } from "../frame.ts";
import type { PeerState } from "../peer.ts";
import { BrokerError } from "../errors.ts";
import { NAME_RE } from "../_peer_table.ts";
import type { ClusterNode } from "./node.ts";
import type { MailboxReader, WaitingKey } from "./queues.ts";
import { ClientTakenError, type ClusterPeer } from "./presence.ts";
import { storeError } from "./_jetstream.ts";
import { stopStatus } from "./_status.ts";
import type { ClusterTypeShare } from "./type_share.ts";
import type { ConnectorOptions } from "../options.ts";

/** One row of {@linkcode ClusterWaiting}. */
export interface WaitingRow {
  /** The client connector's name (mailboxes) or the message type (type queues). */
  key: string;
  messages: number;
  /** Age of the oldest message waiting, ms. */
  oldestMs: number;
}

/** What waits in the cluster's JetStream streams. */
export interface ClusterWaiting {
  mailboxes: WaitingRow[];
  types: WaitingRow[];
}

/** What a {@linkcode ClusterBridge} works with. */
export interface ClusterBridgeOptions {
  node: ClusterNode;
  /** The peer state of client `name` of this server (created on first use). */
  peer(name: string): PeerState;
  /** The peer state of client `name` if this server knows it. */
  find(name: string): PeerState | undefined;
  /** The clients whose links are up here (and not blocked). */
  here(): string[];
  /** Delivers a message published on another server to this server's subscribers. */
  fanout(src: string, h: MsgHeader, data: DataBytes, binary: Uint8Array): Promise<void>;
  /**
   * Takes a message from this server's own mailbox (sent to this server
   * connector by name from another server, as answers to its requests are);
   * resolves once it is stored or handed on here.
   */
  receive(h: MsgHeader, data: Uint8Array, binary: Uint8Array, payload: Uint8Array): Promise<void>;
  /** The cluster-wide per-type queues this server's listeners use. */
  types: ClusterTypeShare;
  log: Logger;
  /** Store messages for client names no server of the cluster has seen (else refuse them). Default `false`. */
  queueForUnknown?: boolean;
  /** Messages of a client's mailbox in flight to it at once. Default 64. */
  window?: number;
}

/**
 * Joins one server connector to its cluster: a client is admitted only if
 * no other live server holds its name; while it is connected here its
 * mailbox (what other servers sent it, and its backlog while it was away) is
 * delivered to it and each message leaves the mailbox once the client has
 * acknowledged it; a message for a client not connected here is stored in
 * that client's mailbox (the sender's acknowledgement means JetStream has
 * it), whether a client or this server connector's own app sent it; what
 * clients publish here reaches the other servers' subscribers; messages
 * sent to this server connector by name from another server arrive through
 * its own mailbox.
 */
export class ClusterBridge implements AsyncDisposable {
  readonly #o: ClusterBridgeOptions;
  readonly #readers = new Map<string, { reader: Promise<MailboxReader>; abort: AbortController }>();
  #own: Promise<MailboxReader> | undefined;
  /** Destinations known to the cluster (a name stays known). */
  readonly #known = new Set<string>();
  /** Per destination: the last store's look-up, so stores start in the order sent. */
  readonly #order = new Map<string, Promise<void>>();
  #peers: ClusterPeer[] = [];
  #refreshing: Promise<void> | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;
  /** The NATS connection's status events {@linkcode #watch} reads: stopped on close (the node lives on). */
  #status: AsyncIterable<Status> | undefined;
  #closing: Promise<void> | undefined;

  constructor(opts: ClusterBridgeOptions) {
    this.#o = opts;
  }

  /** This server's name in the cluster. */
  get server(): string {
    return this.#o.node.server;
  }

  /** Starts receiving other servers' publications and keeping the cluster's client list. */
  async start(): Promise<void> {
    const { node, log } = this.#o;
    await node.pubsub.receive((p) => {
      try {
        const f = decodePayload(p.payload);
        const h = f.header as MsgHeader;
        // A copy that cannot be stored here is logged, not retried: it must not hold up the rest.
        return this.#o.fanout(h.src, h, f.data.slice(), f.binary.slice()).catch((err) =>
          log.warn("publication from another server not stored", {
            server: p.server,
            id: h.id,
            error: (err as Error).message,
          })
        );
      } catch (err) {
        log.warn("malformed publication from another server", {
          server: p.server,
          error: (err as Error).message,
        });
      }
    });
    this.#readOwn();
    await this.#refresh(true);
    this.#timer = setInterval(() => {
      void this.#refresh();
      this.#o.types.tick();
      if (!this.#own) this.#readOwn();
      for (const name of this.#o.here()) this.connected(name);
      void this.#o.node.pubsub.resume();
    }, 1000);
    if (!this.#closing) void this.#watch(this.#status = node.nc.status());
  }

  /**
   * On each return of NATS, renews this server's heartbeat and claims (the
   * node, which owns the connection, logs its loss and return); ends once
   * `status` is stopped, on close.
   */
  async #watch(status: AsyncIterable<Status>): Promise<void> {
    for await (const s of status) {
      if (s.type === "reconnect") void this.#recover();
    }
  }

  /**
   * After an outage: this server's heartbeat may have expired meanwhile, so
   * it claims its clients again; one another server took over meanwhile
   * (the same name connected there) is disconnected here.
   */
  async #recover(): Promise<void> {
    const { node, log } = this.#o;
    if (this.#closing) return;
    await node.presence.beat().catch(() => {});
    for (const name of this.#o.here()) {
      if (this.#closing) return; // closed meanwhile: its names are released, not claimed again
      try {
        await node.presence.claim(name);
      } catch (err) {
        if (!(err instanceof ClientTakenError)) continue; // NATS gone again: the next return retries
        log.warn("client taken by another server during the NATS outage: link closed here", {
          peer: name,
          server: err.server,
        });
        this.#o.find(name)?.link?.close(err.message);
      }
    }
  }

  /** Reads this server's own mailbox (restarted each second after a failure). */
  #readOwn(): void {
    const { node, log } = this.#o;
    const own = this.#own = node.mailboxes.read(node.server, (m) => {
      const f = decodePayload(m.payload);
      return this.#o.receive(f.header as MsgHeader, f.data, f.binary, m.payload);
    });
    own.then((r) => r.done).catch((err) => {
      if (this.#own === own && !this.#closing) {
        this.#own = undefined;
        log.warn("server mailbox delivery stopped", { error: (err as Error).message });
      }
    });
  }

  /**
   * Reads the cluster's client list unless a read is still going (a long
   * list takes over a second). A failure at `start` (its first read failed
   * or stalled) is logged at warn and the server starts without the other
   * servers' clients in its list; later ones, each second, at debug (the
   * copies log their own failures).
   */
  #refresh(start = false): Promise<void> {
    return this.#refreshing ??= (async () => {
      try {
        this.#peers = await this.#o.node.presence.list();
      } catch (err) {
        const error = (err as Error).message;
        if (start) {
          this.#o.log.warn(
            "cluster client list not read at start: clients of other servers are not listed here until it is (read again each second)",
            { error },
          );
        } else this.#o.log.debug("cluster client list not refreshed", { error });
      } finally {
        this.#refreshing = undefined;
      }
    })();
  }

  /** Every client of the cluster and the server it is connected to (refreshed each second). */
  clients(): ClusterPeer[] {
    return this.#peers;
  }

  /**
   * Claims `name` for this server: a refusal the client retries after when
   * another live server holds it (or NATS does not answer).
   */
  async admit(name: string): Promise<string | { reason: string; final: false } | undefined> {
    try {
      await this.#o.node.presence.claim(name);
    } catch (err) {
      // Not final: the holder may be a server just killed, whose heartbeat has not lapsed yet.
      if (err instanceof ClientTakenError) return { reason: err.message, final: false };
      return {
        reason:
          `Cannot admit client connector "${name}" now: the cluster's nats-server does not answer (${
            (err as Error).message
          }); the client retries`,
        final: false,
      };
    }
    // A client refused after this (blocked, or gone during the handshake) never
    // comes up, so nothing would free its name: look again in a while.
    const timer = setTimeout(() => {
      if (!this.#o.find(name)?.online && !this.#readers.has(name)) void this.disconnected(name);
    }, 10_000);
    Deno.unrefTimer(timer);
    return undefined;
  }

  /** Client `name`'s link came up here: deliver its mailbox to it. */
  connected(name: string): void {
    if (this.#readers.has(name) || this.#closing) return;
    const abort = new AbortController();
    const gone = new Promise<never>((_, reject) => {
      abort.signal.addEventListener(
        "abort",
        () => reject(new BrokerError(`Client connector "${name}" disconnected`)),
        { once: true },
      );
    });
    gone.catch(() => {});
    const reader = this.#o.node.mailboxes.read(name, (m) => {
      const f = decodePayload(m.payload);
      const peer = this.#o.peer(name);
      if (!peer.online) throw new BrokerError(`Client connector "${name}" disconnected`);
      const acked = new Promise<void>((resolve, reject) => {
        peer.send(
          f.header as MsgHeader,
          f.data.slice(),
          f.binary.slice(),
          (err) => err ? reject(err) : resolve(),
        );
      });
      return Promise.race([acked, gone]);
    }, { window: this.#o.window ?? 64 });
    this.#readers.set(name, { reader, abort });
    reader.then((r) =>
      r.done.catch((err) => {
        if (!abort.signal.aborted) {
          // Restarted by the next tick while the client is still here.
          if (this.#readers.get(name)?.abort === abort) this.#readers.delete(name);
          this.#o.log.warn("cluster mailbox delivery stopped", {
            peer: name,
            error: (err as Error).message,
          });
        }
      })
    ).catch((err) => {
      if (this.#readers.get(name)?.abort === abort) this.#readers.delete(name);
      this.#o.log.warn("cluster mailbox not opened", { peer: name, error: err.message });
    });
  }

  /** Client `name`'s link went down: stop its mailbox here and free its name in the cluster. */
  async disconnected(name: string): Promise<void> {
    if (this.#o.find(name)?.online) return; // replaced by a newer link
    await this.#stopReader(name);
    await this.#o.node.presence.release(name).catch(() => {});
  }

  async #stopReader(name: string): Promise<void> {
    const r = this.#readers.get(name);
    if (!r) return;
    this.#readers.delete(name);
    r.abort.abort();
    await (await r.reader.catch(() => undefined))?.stop();
  }

  /**
   * Stores a message for a client not connected to this server in its
   * mailbox (resolves once JetStream has it), or returns `undefined` when
   * the client is connected here.
   */
  elsewhere(h: MsgHeader, data: DataBytes, binary: Uint8Array): Promise<void> | undefined {
    if (!NAME_RE.test(h.dst) || this.#o.find(h.dst)?.online) return undefined;
    // Delivered by another server: the client takes the sender's name from it, as for a relay.
    const payload = encodePayload({ ...h, fwd: true }, data, binary);
    const { node } = this.#o;
    const dst = h.dst;
    const known = async () => {
      if (h.file && await node.presence.alive(dst).catch(() => false)) {
        throw new BrokerError(
          `Cannot send file "${h.file.name}" to server connector "${dst}" through another server of the cluster: files reach a server connector only from a client connected to it (connect to "${dst}", or send the file to the server you are connected to)`,
        );
      }
      if (this.#o.queueForUnknown || this.#known.has(dst)) return;
      try {
        if (await node.presence.known(dst) || await node.presence.alive(dst)) {
          this.#known.add(dst);
          return;
        }
      } catch (err) {
        throw storeError(
          `Cannot store message "${h.id}" for client connector "${dst}" in the cluster`,
          err,
        );
      }
      throw new BrokerError(
        `Unknown destination "${dst}": no client connector of that name has ever connected to a server of cluster "${node.cluster}" (check the name; start the servers with --queue-for-unknown to store messages for clients that have not connected yet)`,
      );
    };
    // Stored in the order sent: each look-up waits for the one before (answers may overtake).
    const checked = (this.#order.get(dst) ?? Promise.resolve()).then(known);
    const next = checked.catch(() => {});
    this.#order.set(dst, next);
    next.then(() => {
      if (this.#order.get(dst) === next) this.#order.delete(dst);
    });
    return checked.then(() => node.mailboxes.send(dst, `${h.src}:${h.id}`, payload)).then(() => {});
  }

  /**
   * What waits in JetStream (`broker queues`): per client mailbox and per
   * type queue, the messages waiting and the age of the oldest (ms), as of now.
   */
  async waiting(): Promise<ClusterWaiting> {
    const { node } = this.#o;
    const now = Date.now();
    const rows = (keys: WaitingKey[]) =>
      keys.map((k) => ({
        key: k.key,
        messages: k.messages,
        oldestMs: Math.max(0, now - k.oldest),
      }));
    const [mailboxes, types] = await Promise.all([
      node.mailboxes.report(),
      node.typeQueues.report(),
    ]);
    return { mailboxes: rows(mailboxes), types: rows(types) };
  }

  /** Hands a message published here to the other servers' subscribers; resolves once JetStream stored it. */
  published(h: MsgHeader, data: DataBytes, binary: Uint8Array): Promise<void> {
    return this.#o.node.pubsub.publish(h.type, `${h.src}:${h.id}`, encodePayload(h, data, binary));
  }

  /** Stops every mailbox delivery and frees this server's client names. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      clearInterval(this.#timer);
      stopStatus(this.#status);
      await this.#o.node.pubsub.close();
      await this.#o.types.close();
      await (await this.#own?.catch(() => undefined))?.stop();
      for (const name of [...this.#readers.keys()]) {
        await this.#stopReader(name);
        await this.#o.node.presence.release(name).catch(() => {});
      }
    })();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/**
 * The connector options a clustered server's links use: a client is
 * admitted only once the cluster gives it its name, and its link coming up
 * or going down starts or stops its mailbox here.
 */
export function clusterConnectorOptions(
  opts: ConnectorOptions,
  bridge: ClusterBridge,
): ConnectorOptions {
  const server = opts.server!;
  const admit = server.admit;
  const onPeer = opts.onPeer;
  return {
    ...opts,
    server: {
      ...server,
      admit: async (id, name) => (await admit?.(id, name)) ?? await bridge.admit(name),
    },
    onPeer: (e) => {
      if (e.event === "connected") bridge.connected(e.peer);
      else void bridge.disconnected(e.peer);
      onPeer?.(e);
    },
  };
}

/**
 * `broker peers` of a clustered server: its own rows with a `server`
 * column, and every client connected to another server of the cluster.
 */
export function clusterPeerRows(
  rows: Array<Record<string, unknown>>,
  bridge: ClusterBridge,
): Array<Record<string, unknown>> {
  const here = new Map(rows.map((r) => [String(r.name), r]));
  const out: Array<Record<string, unknown>> = rows.map((r) => ({
    ...r,
    server: r.connected ? bridge.server : "",
  }));
  for (const c of bridge.clients()) {
    if (c.server === bridge.server || here.get(c.client)?.connected) continue;
    const row = {
      name: c.client,
      connected: true,
      address: "",
      cn: "",
      since: new Date(c.since).toISOString(),
      msgsIn: 0,
      msgsOut: 0,
      blocked: false,
      server: c.server,
    };
    const i = out.findIndex((r) => r.name === c.client);
    if (i >= 0) out[i] = row;
    else out.push(row);
  }
  return out;
}
