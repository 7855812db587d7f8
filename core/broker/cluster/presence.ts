import type { KV, KvEntry } from "nats";
import { BrokerError } from "../errors.ts";
import { token } from "./names.ts";
import { Claims, type ClusterPeer } from "./claims.ts";
import { KvMirror, type MirrorWatchOptions } from "./_kv_mirror.ts";

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
   * How the local copies (the client list, the heartbeats, and the lists of
   * the {@linkcode ClusterPresence.registry} registries) follow NATS and
   * log their trouble. Default: each field's.
   */
  mirror?: MirrorWatchOptions;
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
  /** The heartbeats bucket's TTL, ms (0: none; read by {@linkcode open}). */
  #ttl = 0;
  /** Local copy of the heartbeats: when each server's last beat was stored (ms, NATS server's clock). */
  #beats: KvMirror<number> | undefined;
  /** The newest beat stored in the copy (NATS server's clock), and when it arrived here (this machine's). */
  #newest = { stored: -Infinity, arrived: 0 };

  private constructor(o: ClusterPresenceOptions) {
    super({
      kv: o.clients,
      server: o.server,
      alive: (name) => this.alive(name),
      liveness: () => this.liveness(),
      taken: (client, server) => new ClientTakenError(client, server),
      mirror: o.mirror,
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
      p.#ttl = (await opts.servers.status()).ttl;
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

  /**
   * Whether server `name`'s heartbeat is current, read from NATS (one read;
   * the bucket's TTL removed an expired beat).
   */
  async alive(name: string): Promise<boolean> {
    if (name === this.#o.server) return !this.#closed;
    const e = await this.#o.servers.get(token(name));
    return e !== null && e.operation === "PUT";
  }

  /**
   * Which servers are alive, judged from a local copy of the heartbeats
   * bucket (one watch; no NATS read per server, as {@linkcode Claims.list}
   * needs on every server each second). The rule is {@linkcode alive}'s: a
   * server is alive while its last beat is younger than the bucket's TTL.
   * The watch does not report a beat JetStream expired, so the copy keeps
   * it and judges it by the time it was stored, on the NATS server's clock
   * as JetStream does (no clock of this machine is compared with NATS's):
   * "now" is the newest beat in the copy plus the time since it arrived, at
   * most one beat (this server's own beat renews it every `beatMs`). During
   * a NATS outage nothing arrives, so the judgement stays as it was when
   * the outage began. The first call waits for the copy's first full read.
   */
  async liveness(): Promise<(server: string) => boolean> {
    const { server, beatMs = 1000 } = this.#o;
    if (this.#closed) {
      throw new BrokerError(
        `Cannot tell which servers of the cluster are alive: server "${server}" closed its registry (it left the cluster)`,
      );
    }
    this.#beats ??= new KvMirror(this.#o.servers, {
      ...this.#o.mirror,
      what: "the servers' heartbeats",
      keep: (e) => this.#keepBeat(e),
    });
    const beats = await this.#beats.entries();
    const ttl = this.#ttl;
    const now = this.#newest.stored + Math.min(Date.now() - this.#newest.arrived, beatMs);
    return (name) => {
      if (name === server) return !this.#closed;
      const stored = beats.get(token(name));
      return stored !== undefined && (ttl <= 0 || now - stored < ttl);
    };
  }

  /** What the heartbeats' copy keeps of a beat: when it was stored (and the newest so far). */
  #keepBeat(e: KvEntry): number | undefined {
    if (e.operation !== "PUT") return undefined;
    const stored = e.created.getTime();
    if (stored > this.#newest.stored) this.#newest = { stored, arrived: Date.now() };
    return stored;
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
      liveness: () => this.liveness(),
      taken,
      mirror: this.#o.mirror,
    });
  }

  /** Stops heartbeating, removes this server's heartbeat and stops the watches of its copies. Idempotent. */
  override async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    await super.close();
    await this.#beats?.close();
    await this.#o.servers.delete(token(this.#o.server)).catch(() => {});
  }

  override async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
