import type { KV, Status } from "nats";
import type { Logger } from "../../log/mod.ts";
import { BrokerError } from "../errors.ts";
import { token } from "./names.ts";
import { Claims, type ClusterPeer } from "./claims.ts";

export type { ClusterPeer };

/** Options for {@linkcode ClusterPresence}. */
export interface ClusterPresenceOptions {
  /** This server connector's name. */
  server: string;
  /** KV bucket of client → server. */
  clients: KV;
  /** KV bucket of server heartbeats (a bucket with a TTL). */
  servers: KV;
  /** How often this server renews its heartbeat, ms. Default 1000. */
  beatMs?: number;
  /**
   * The NATS connection's status events (`nc.status`): the client list's
   * copy of the bucket is read afresh after each reconnect. Default: none.
   */
  status?: () => AsyncIterable<Status>;
  /**
   * Where a failing watch of the client list's local copy is reported, at
   * warn, and its recovery, at info. Default: nowhere.
   */
  log?: Logger;
  /**
   * How long a first read of the client list's copy may go without an entry
   * before it fails (the list rejects instead of waiting on), ms. Default 5000.
   */
  stallMs?: number;
}

/** The same client name is already connected to another live server of the cluster. */
export class ClientTakenError extends BrokerError {
  override name = "ClientTakenError";
  constructor(readonly client: string, readonly server: string) {
    super(
      `Client connector "${client}" is already connected to server "${server}" of this cluster: the same name cannot connect twice (stop the other one, or give this client another name)`,
    );
  }
}

const enc = new TextEncoder();

/**
 * The cluster's registry of which server holds which client, kept in a
 * JetStream KV bucket, and this server's heartbeat in another: a server
 * claims a client when its link comes up and releases it when it goes; a
 * claim held by a server whose heartbeat has expired (the server died, or
 * was cut off from NATS for three beats) is taken over.
 */
export class ClusterPresence extends Claims implements AsyncDisposable {
  readonly #o: ClusterPresenceOptions;
  readonly #timer: ReturnType<typeof setInterval>;
  #closed = false;

  private constructor(o: ClusterPresenceOptions) {
    super({
      kv: o.clients,
      server: o.server,
      alive: (name) => this.alive(name),
      taken: (client, server) => new ClientTakenError(client, server),
      ...ClusterPresence.#shared(o),
    });
    this.#o = o;
    this.#timer = setInterval(() => {
      this.beat().catch(() => {});
    }, o.beatMs ?? 1000);
  }

  /** Starts heartbeating for `opts.server` and returns the registry. */
  static async open(opts: ClusterPresenceOptions): Promise<ClusterPresence> {
    const p = new ClusterPresence(opts);
    try {
      await p.beat();
    } catch (err) {
      clearInterval(p.#timer);
      throw err;
    }
    return p;
  }

  /** Renews this server's heartbeat now (also done every `beatMs`). */
  async beat(): Promise<void> {
    if (this.#closed) return;
    await this.#o.servers.put(token(this.#o.server), enc.encode(String(Date.now())));
  }

  /** Whether server `name`'s heartbeat is current. */
  async alive(name: string): Promise<boolean> {
    if (name === this.#o.server) return !this.#closed;
    const e = await this.#o.servers.get(token(name));
    return e !== null && e.operation === "PUT";
  }

  /** The options the registries and copies share: NATS status events, log, first-read stall limit. */
  static #shared(o: ClusterPresenceOptions) {
    return {
      ...(o.status ? { status: o.status } : {}),
      ...(o.log ? { log: o.log } : {}),
      ...(o.stallMs !== undefined ? { stallMs: o.stallMs } : {}),
    };
  }

  /**
   * Another registry of names held by one live server at a time (the same
   * heartbeats decide who is alive), in bucket `kv`.
   */
  registry(kv: KV, taken: (name: string, server: string) => Error): Claims {
    return new Claims({
      kv,
      server: this.#o.server,
      alive: (n) => this.alive(n),
      taken,
      ...ClusterPresence.#shared(this.#o),
    });
  }

  /** Stops heartbeating, removes this server's heartbeat and stops the client list's watch. Idempotent. */
  override async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    await super.close();
    await this.#o.servers.delete(token(this.#o.server)).catch(() => {});
  }

  override async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
