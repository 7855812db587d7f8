import type { KV, KvEntry } from "nats";
import { BrokerError } from "../errors.ts";
import { token } from "./names.ts";
import { KvMirror, type MirrorWatchOptions } from "./_kv_mirror.ts";

/** Who holds one name of a registry: for clients, where a client is connected. */
export interface ClusterPeer {
  /** The name held: a client connector's name (or, in the type registry, a message type). */
  client: string;
  /** The server connector holding it. */
  server: string;
  /** When it took it (ms since the epoch). */
  since: number;
  /**
   * Type registry: the stream position up to which the holders' listeners
   * have taken the queue (kept across holders). Absent for clients.
   */
  mark?: number;
  /**
   * Type registry: the stream position up to which the messages after
   * `mark` may have been handed to a listener already (by a holder that
   * died or whose listener gave them back); the holders after it mark them
   * `redelivered`. Kept across holders. Absent for clients.
   */
  again?: number;
}

/** Options for {@linkcode Claims}. */
export interface ClaimsOptions {
  /** KV bucket of name → holder. */
  kv: KV;
  /** This server connector's name. */
  server: string;
  /** Whether server `name` is alive (its heartbeat is current), asked of NATS. */
  alive(name: string): Promise<boolean>;
  /**
   * A judge of which servers are alive, by the same rule as `alive` but
   * from a local copy of the heartbeats: {@linkcode Claims.list} asks it
   * once per call, so listing makes no NATS read per holding server.
   */
  liveness(): Promise<(server: string) => boolean>;
  /** The error for a name held by another live server. */
  taken(name: string, server: string): Error;
  /** How {@linkcode Claims.list}'s copy of the bucket follows NATS and logs its trouble. Default: each field's. */
  mirror?: MirrorWatchOptions | undefined;
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

/** An entry's holder, or `undefined` when nobody holds it (released, deleted or unreadable). */
function holder(entry: KvEntry): ClusterPeer | undefined {
  const held = parse(entry);
  return held?.server ? held : undefined;
}

/**
 * Names held by one server of the cluster at a time, in a JetStream KV
 * bucket: a server claims a name and releases it; a claim held by a server
 * whose heartbeat has expired (the server died) is taken over. Claiming,
 * releasing and asking about one name read the bucket itself; the list of
 * every held name is read from a local copy that a watch keeps.
 */
export class Claims implements AsyncDisposable {
  readonly #o: ClaimsOptions;
  /** The held names, kept by a watch of the bucket (made by the first {@linkcode list}). */
  #held: KvMirror<ClusterPeer> | undefined;
  #closed = false;

  constructor(opts: ClaimsOptions) {
    this.#o = opts;
  }

  /**
   * Records that `name` is held here and returns the entry it replaced (its
   * `mark` is where the last holder got to). Throws `opts.taken(...)` when a
   * live server holds it already.
   */
  async claim(name: string): Promise<ClusterPeer | undefined> {
    const { kv, server } = this.#o;
    for (let attempt = 0; attempt < 5; attempt++) {
      const entry = await kv.get(token(name));
      const held = parse(entry);
      if (
        held && held.server !== "" && held.server !== server && await this.#o.alive(held.server)
      ) {
        throw this.#o.taken(name, held.server);
      }
      const mark = held?.mark;
      const again = held?.again;
      const value = encode({
        client: name,
        server,
        since: Date.now(),
        ...(mark !== undefined ? { mark } : {}),
        ...(again !== undefined ? { again } : {}),
      });
      try {
        if (!entry) await kv.create(token(name), value);
        else await kv.update(token(name), value, entry.revision);
        return held;
      } catch (err) {
        // Another server wrote the key in between: look again.
        if (!/wrong last sequence|key exists/i.test(String(err))) throw err;
      }
    }
    throw new BrokerError(
      `Cannot register "${name}" in the cluster: its entry keeps changing (another server is claiming it at the same time)`,
    );
  }

  /**
   * Stores `mark` in `name`'s entry (its `field`: `mark`, or `again`) while
   * this server holds it, unless the entry has as high a one; throws when
   * another server has taken it meanwhile (this one must stop handing out).
   */
  async mark(name: string, mark: number, field: "mark" | "again" = "mark"): Promise<void> {
    const { kv, server } = this.#o;
    for (let attempt = 0; attempt < 5; attempt++) {
      const entry = await kv.get(token(name));
      const held = parse(entry);
      if (held?.server !== server) {
        throw new BrokerError(
          `"${name}" is no longer held by server "${server}" (held by "${
            held?.server ?? ""
          }"): stopped handing it out here`,
        );
      }
      if ((held[field] ?? 0) >= mark) return;
      try {
        await kv.update(token(name), encode({ ...held, [field]: mark }), entry!.revision);
        return;
      } catch (err) {
        if (!/wrong last sequence/i.test(String(err))) throw err;
      }
    }
    throw new BrokerError(
      `Cannot record how far "${name}" was handed out: its entry keeps changing`,
    );
  }

  /**
   * A recorder of `name`'s mark that coalesces: while one store is in
   * flight, later marks wait and go in one store; each call resolves once
   * a mark at least as high is stored (and rejects as {@linkcode mark} does).
   */
  marker(name: string): (mark: number) => Promise<void> {
    let stored = 0;
    let wanted = 0;
    let writing: Promise<void> | undefined;
    const write = (): Promise<void> =>
      writing ??= (async () => {
        try {
          while (wanted > stored) {
            const m = wanted;
            await this.mark(name, m);
            stored = m;
          }
        } finally {
          writing = undefined;
        }
      })();
    return async (mark) => {
      wanted = Math.max(wanted, mark);
      while (stored < mark) await write();
    };
  }

  /** Marks `name` as let go if this server holds it (the name stays known, with its `mark`). */
  async release(name: string): Promise<void> {
    const entry = await this.#o.kv.get(token(name));
    const held = parse(entry);
    if (held?.server !== this.#o.server) return;
    try {
      const gone = encode({ ...held, server: "", since: Date.now() });
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

  /**
   * Every name held by a live server, by name. Read from the local copy of
   * the bucket (kept by a watch; the first call waits for the first full
   * read): no NATS round trip per name, and released names (which stay in
   * the bucket for {@linkcode known}) are not in the copy, so the cost does
   * not grow with every name ever claimed. Which holders are alive is
   * judged from a local copy of the heartbeats too (`opts.liveness`), so a
   * list makes no NATS read at all. A change made on another server shows
   * once the watch delivered it (milliseconds while NATS is up); after a
   * NATS outage the copy is read again in full.
   */
  async list(): Promise<ClusterPeer[]> {
    if (this.#closed) {
      throw new BrokerError(
        `Cannot list the names held in the cluster: server "${this.#o.server}" closed its registry (it left the cluster)`,
      );
    }
    this.#held ??= new KvMirror(this.#o.kv, {
      ...this.#o.mirror,
      what: "the names held in the cluster",
      keep: holder,
    });
    // Both copies read at once; a failure of the list's own copy is the one reported.
    const judge = this.#o.liveness();
    judge.catch(() => {});
    await this.#held.entries();
    const alive = await judge;
    const held = [...(await this.#held.entries())].sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0);
    return held.map(([, peer]) => peer).filter((peer) => alive(peer.server));
  }

  /** Stops the watch that {@linkcode list} reads. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#held?.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
