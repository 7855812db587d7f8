import type { KV, KvEntry } from "nats";
import { BrokerError } from "../errors.ts";
import { token } from "./names.ts";

/** Who holds one name of a registry: for clients, where a client is connected. */
export interface ClusterPeer {
  /** The name held: a client connector's name (or, in the type registry, a message type). */
  client: string;
  /** The server connector holding it. */
  server: string;
  /** When it took it (ms since the epoch). */
  since: number;
}

/** Options for {@linkcode Claims}. */
export interface ClaimsOptions {
  /** KV bucket of name → holder. */
  kv: KV;
  /** This server connector's name. */
  server: string;
  /** Whether server `name` is alive (its heartbeat is current). */
  alive(name: string): Promise<boolean>;
  /** The error for a name held by another live server. */
  taken(name: string, server: string): Error;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

/** An entry's value; `server` is `""` once the holder let it go (the name stays known). */
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
 * Names held by one server of the cluster at a time, in a JetStream KV
 * bucket: a server claims a name and releases it; a claim held by a server
 * whose heartbeat has expired (the server died) is taken over.
 */
export class Claims {
  readonly #o: ClaimsOptions;

  constructor(opts: ClaimsOptions) {
    this.#o = opts;
  }

  /** Records that `name` is held here. Throws `opts.taken(...)` when a live server holds it already. */
  async claim(name: string): Promise<void> {
    const { kv, server } = this.#o;
    const value = encode({ client: name, server, since: Date.now() });
    for (let attempt = 0; attempt < 5; attempt++) {
      const entry = await kv.get(token(name));
      const held = parse(entry);
      if (
        held && held.server !== "" && held.server !== server && await this.#o.alive(held.server)
      ) {
        throw this.#o.taken(name, held.server);
      }
      try {
        if (!entry) await kv.create(token(name), value);
        else await kv.update(token(name), value, entry.revision);
        return;
      } catch (err) {
        // Another server wrote the key in between: look again.
        if (!/wrong last sequence|key exists/i.test(String(err))) throw err;
      }
    }
    throw new BrokerError(
      `Cannot register "${name}" in the cluster: its entry keeps changing (another server is claiming it at the same time)`,
    );
  }

  /** Marks `name` as let go if this server holds it (the name stays known). */
  async release(name: string): Promise<void> {
    const entry = await this.#o.kv.get(token(name));
    if (parse(entry)?.server !== this.#o.server) return;
    try {
      const gone = encode({ client: name, server: "", since: Date.now() });
      await this.#o.kv.update(token(name), gone, entry!.revision);
    } catch (err) {
      if (!/wrong last sequence/i.test(String(err))) throw err;
    }
  }

  /** Who holds `name`, if a live server does. */
  async where(name: string): Promise<ClusterPeer | undefined> {
    const held = parse(await this.#o.kv.get(token(name)));
    return held && held.server !== "" && await this.#o.alive(held.server) ? held : undefined;
  }

  /** Whether `name` was ever claimed by a server of the cluster. */
  async known(name: string): Promise<boolean> {
    return parse(await this.#o.kv.get(token(name))) !== undefined;
  }

  /** Every name held by a live server, by name. */
  async list(): Promise<ClusterPeer[]> {
    const names: string[] = [];
    for await (const k of await this.#o.kv.keys()) names.push(k);
    const out: ClusterPeer[] = [];
    const live = new Map<string, boolean>();
    for (const name of names.sort()) {
      const held = parse(await this.#o.kv.get(name));
      if (!held || held.server === "") continue;
      let ok = live.get(held.server);
      if (ok === undefined) live.set(held.server, ok = await this.#o.alive(held.server));
      if (ok) out.push(held);
    }
    return out;
  }
}
