import type { KV, KvEntry } from "nats";
import { BrokerError } from "../errors.ts";
import { token } from "./names.ts";

/** Where one client of the cluster is connected. */
export interface ClusterPeer {
  /** The client connector's name. */
  client: string;
  /** The server connector holding its link. */
  server: string;
  /** When it connected there (ms since the epoch). */
  since: number;
}

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
const dec = new TextDecoder();

/** An entry's value; `server` is `""` once the client left (the name stays known). */
function parse(entry: KvEntry | null): ClusterPeer | undefined {
  if (!entry || entry.operation !== "PUT") return undefined;
  try {
    return JSON.parse(dec.decode(entry.value)) as ClusterPeer;
  } catch {
    return undefined;
  }
}

const encode = (p: ClusterPeer) => enc.encode(JSON.stringify(p));

/**
 * The cluster's registry of which server holds which client, kept in a
 * JetStream KV bucket. A server claims a client when its link comes up and
 * releases it when it goes; a claim held by a server whose heartbeat has
 * expired (the server died) is taken over.
 */
export class ClusterPresence implements AsyncDisposable {
  readonly #o: ClusterPresenceOptions;
  readonly #timer: ReturnType<typeof setInterval>;
  #closed = false;

  private constructor(o: ClusterPresenceOptions) {
    this.#o = o;
    this.#timer = setInterval(() => {
      this.#beat().catch(() => {});
    }, o.beatMs ?? 1000);
  }

  /** Starts heartbeating for `opts.server` and returns the registry. */
  static async open(opts: ClusterPresenceOptions): Promise<ClusterPresence> {
    const p = new ClusterPresence(opts);
    try {
      await p.#beat();
    } catch (err) {
      clearInterval(p.#timer);
      throw err;
    }
    return p;
  }

  #beat(): Promise<number> {
    return this.#o.servers.put(token(this.#o.server), enc.encode(String(Date.now())));
  }

  /** Whether server `name`'s heartbeat is current. */
  async alive(name: string): Promise<boolean> {
    if (name === this.#o.server) return !this.#closed;
    const e = await this.#o.servers.get(token(name));
    return e !== null && e.operation === "PUT";
  }

  /**
   * Records that client `client` is connected here. Throws
   * {@linkcode ClientTakenError} when a live server holds it already.
   */
  async claim(client: string): Promise<void> {
    const value = encode({ client, server: this.#o.server, since: Date.now() });
    for (let attempt = 0; attempt < 5; attempt++) {
      const entry = await this.#o.clients.get(token(client));
      const held = parse(entry);
      if (
        held && held.server !== "" && held.server !== this.#o.server &&
        await this.alive(held.server)
      ) {
        throw new ClientTakenError(client, held.server);
      }
      try {
        if (!entry) await this.#o.clients.create(token(client), value);
        else await this.#o.clients.update(token(client), value, entry.revision);
        return;
      } catch (err) {
        // Another server wrote the key in between: look again.
        if (!/wrong last sequence|key exists/i.test(String(err))) throw err;
      }
    }
    throw new BrokerError(
      `Cannot register client connector "${client}" in the cluster: its presence entry keeps changing (another server is claiming it at the same time)`,
    );
  }

  /** Marks client `client` as gone if this server holds it (its name stays known). */
  async release(client: string): Promise<void> {
    const entry = await this.#o.clients.get(token(client));
    if (parse(entry)?.server !== this.#o.server) return;
    try {
      const gone = encode({ client, server: "", since: Date.now() });
      await this.#o.clients.update(token(client), gone, entry!.revision);
    } catch (err) {
      if (!/wrong last sequence/i.test(String(err))) throw err;
    }
  }

  /** Where client `client` is connected, if on a live server. */
  async where(client: string): Promise<ClusterPeer | undefined> {
    const held = parse(await this.#o.clients.get(token(client)));
    return held && held.server !== "" && await this.alive(held.server) ? held : undefined;
  }

  /** Whether client `client` has ever connected to a server of the cluster. */
  async known(client: string): Promise<boolean> {
    return parse(await this.#o.clients.get(token(client))) !== undefined;
  }

  /** Every client connected to a live server of the cluster, by name. */
  async list(): Promise<ClusterPeer[]> {
    const names: string[] = [];
    for await (const k of await this.#o.clients.keys()) names.push(k);
    const out: ClusterPeer[] = [];
    const live = new Map<string, boolean>();
    for (const name of names.sort()) {
      const held = parse(await this.#o.clients.get(name));
      if (!held || held.server === "") continue;
      let ok = live.get(held.server);
      if (ok === undefined) live.set(held.server, ok = await this.alive(held.server));
      if (ok) out.push(held);
    }
    return out;
  }

  /** Stops heartbeating and removes this server's heartbeat. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    await this.#o.servers.delete(token(this.#o.server)).catch(() => {});
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
