import { basename, dirname } from "node:path";
import {
  type AtomicWriteOptions,
  NotDurableError,
  removeAtomicLeftoversSync,
  writeFileAtomic,
} from "../storage/mod.ts";
import { BrokerError } from "./errors.ts";
import type { DataBytes, MsgHeader } from "./frame.ts";
import type { PeerState } from "./peer.ts";
import type { Link } from "./link.ts";
import { type Clock, systemClock } from "../async/mod.ts";

/** What a client asks the server to do for it. */
export type PubSubAction = "publish" | "subscribe" | "send";

/** Reserved message type a client connector uses to (un)subscribe at its server. */
export const SUBSCRIBE_TYPE = "sockkit.subscribe";

/** Most types one client may subscribe to (and one app connection on the local API listen to, in as many listens at most). */
export const MAX_SUBSCRIBED_TYPES = 256;

/**
 * Most subscription changes of one client waiting to be stored (the one
 * being written included); one more is refused at once, and the client may
 * ask again. All clients' waiting changes are stored together in one write.
 */
export const MAX_WAITING_CHANGES = 16;

/**
 * Who may publish, subscribe and send client-to-client, by client name.
 * `publish` and `subscribe` map a message type (or `"*"`, any type) to the
 * clients allowed (`"*"`: any client); `send` maps a sender (or `"*"`) to
 * the clients it may reach through the server. A section left out allows
 * any authenticated client; no rule at all allows everything.
 */
export interface PubSubRuleSpec {
  publish?: Record<string, string[]>;
  subscribe?: Record<string, string[]>;
  send?: Record<string, string[]>;
}

/** A checked {@linkcode PubSubRuleSpec} and where it came from (for error messages). */
export class PubSubRule {
  readonly #spec: PubSubRuleSpec;
  readonly #source: string;

  constructor(spec: PubSubRuleSpec = {}, source = "") {
    for (const key of Object.keys(spec)) {
      if (key !== "publish" && key !== "subscribe" && key !== "send") {
        throw new TypeError(
          `Unknown section "${key}" in the publish/subscribe rule${
            source ? ` "${source}"` : ""
          } (use "publish", "subscribe" or "send")`,
        );
      }
      const section = (spec as Record<string, unknown>)[key];
      if (typeof section !== "object" || section === null || Array.isArray(section)) {
        throw new TypeError(
          `Section "${key}" of the publish/subscribe rule${
            source ? ` "${source}"` : ""
          } must be an object of name lists, e.g. {"news": ["alice", "bob"]}`,
        );
      }
      for (const [k, v] of Object.entries(section)) {
        if (!Array.isArray(v) || v.some((n) => typeof n !== "string")) {
          throw new TypeError(
            `Entry "${k}" in section "${key}" of the publish/subscribe rule${
              source ? ` "${source}"` : ""
            } must be a list of client names ("*" for any)`,
          );
        }
      }
    }
    this.#spec = spec;
    this.#source = source;
  }

  /** Reads a rule file (JSON); throws a `TypeError` naming the file when it is unreadable or malformed. */
  static async load(path: string): Promise<PubSubRule> {
    let text: string;
    try {
      text = await Deno.readTextFile(path);
    } catch (err) {
      throw new TypeError(
        `Cannot read the publish/subscribe rule "${path}": ${
          (err as Error).message
        } (check --pubsub-rule)`,
      );
    }
    let spec: unknown;
    try {
      spec = JSON.parse(text);
    } catch (err) {
      throw new TypeError(
        `Malformed publish/subscribe rule "${path}": ${(err as Error).message} (it must be JSON)`,
      );
    }
    if (typeof spec !== "object" || spec === null || Array.isArray(spec)) {
      throw new TypeError(
        `Malformed publish/subscribe rule "${path}": expected an object with "publish", "subscribe" or "send"`,
      );
    }
    return new PubSubRule(spec as PubSubRuleSpec, path);
  }

  /** Whether `client` may do `action` on `what` (a type, or for `send` the destination). */
  allows(action: PubSubAction, client: string, what: string): boolean {
    const section = this.#spec[action];
    if (!section) return true;
    if (action === "send") {
      const to = [...(section[client] ?? []), ...(section["*"] ?? [])];
      return to.includes(what) || to.includes("*");
    }
    const who = section[what] ?? section["*"] ?? [];
    return who.includes(client) || who.includes("*");
  }

  /** Throws the refusal error when `client` may not do `action` on `what`. */
  check(action: PubSubAction, client: string, what: string): void {
    if (this.allows(action, client, what)) return;
    const rule = this.#source ? ` by the publish/subscribe rule "${this.#source}"` : "";
    const doing = action === "send"
      ? `send to client "${what}" through the server`
      : `${action} to message type "${what}"`;
    throw new BrokerError(
      `Client "${client}" may not ${doing}: refused${rule} (ask the server operator to allow it)`,
    );
  }
}

/** What {@linkcode Subscriptions.subscribers} returns for a type nobody subscribed to. */
const NO_SUBSCRIBERS: readonly string[] = Object.freeze([]);

/** Options for {@linkcode Subscriptions}. */
export interface SubscriptionsOptions {
  /**
   * How the file's directory is synced after each write. Default: opened
   * read-only and `fsync`'d (see `AtomicWriteOptions.syncDirectory`); tests
   * pass one that fails.
   */
  syncDirectory?: (dir: string) => Promise<void>;
}

/** Client name → message types. */
type ByClient = Map<string, Set<string>>;

/** One {@linkcode Subscriptions.update} request. */
interface Change {
  client: string;
  types: string[];
  unsubscribe: boolean;
  /**
   * A subscription over the type cap while an unsubscription of the same
   * client waits to be stored: checked again when its turn to be stored
   * comes, and only then applied.
   */
  deferred?: boolean;
  /** Settled once the change is stored, or refused. */
  done: PromiseWithResolvers<void>;
}

/**
 * The server's subscriptions, client name → message types, kept in a JSON
 * file in the state directory (replaced atomically, and synced before a
 * change is acknowledged) so they survive a restart of either side and a
 * power cut: a subscriber that is away keeps getting published messages in
 * its journal.
 *
 * A change is acknowledged once stored. A subscription takes effect at
 * once (a message published meanwhile already reaches the new subscriber's
 * journal); an unsubscription only once stored, so that until then every
 * message published is still stored for the client: if it is refused, the
 * client is still subscribed and missed nothing. When a change cannot be
 * stored it is refused and undone in memory, and when the file was already
 * replaced but its directory could not be synced, the previous content is
 * written back. (A refused subscription may have put a few messages in the
 * client's journal meanwhile: extra copies, never a loss.) Memory is always
 * what is stored plus the subscriptions waiting to be, so the type cap
 * counts those too.
 *
 * Changes are stored by group commit: while one write is on its way, the
 * changes that arrive wait, and the next write stores all of them at once,
 * so a change waits for at most two writes however many clients ask; each
 * client may have at most {@linkcode MAX_WAITING_CHANGES} waiting.
 */
export class Subscriptions {
  readonly #path: string;
  readonly #write: AtomicWriteOptions;
  #byClient: ByClient = new Map();
  /** What the file holds: the changes stored so far. */
  #stored: ByClient = new Map();
  /** Changes not yet stored, in order (the first `#inFlight` are being written); memory is derived by #settle. */
  readonly #pending: Change[] = [];
  /** How many of `#pending` the write on its way stores (0: none on its way). */
  #inFlight = 0;
  /** The same, type → clients. */
  readonly #byType = new Map<string, Set<string>>();
  /**
   * Type → its clients as a frozen array, what each published message reads:
   * built on first use after the type's subscriptions changed, then replaced
   * (never mutated), so a fan-out over it is not disturbed by a change.
   */
  readonly #cached = new Map<string, readonly string[]>();

  /** Opens the subscriptions kept in `path`, removing what a write cut short by a crash left beside it (also `PATH.tmp`, an earlier version's). */
  constructor(path: string, options: SubscriptionsOptions = {}) {
    this.#path = path;
    this.#write = { durable: true, ...options };
    removeAtomicLeftoversSync(dirname(path), (target) => target === basename(path), {
      legacy: true,
    });
    let text: string | undefined;
    try {
      text = Deno.readTextFileSync(path);
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
    if (text === undefined) return;
    let stored: unknown;
    try {
      stored = JSON.parse(text);
    } catch (err) {
      throw new Error(
        `Cannot read the subscriptions "${path}": ${
          (err as Error).message
        } (repair or remove the file; clients then subscribe again)`,
      );
    }
    for (const [client, types] of Object.entries(stored as Record<string, unknown>)) {
      if (Array.isArray(types)) {
        const set = new Set(types.filter((t) => typeof t === "string"));
        this.#byClient.set(client, set);
        for (const t of set) this.#index(t, client, true);
      }
    }
    this.#stored = copy(this.#byClient);
  }

  #index(type: string, client: string, on: boolean): void {
    let clients = this.#byType.get(type);
    if (on) {
      if (!clients) this.#byType.set(type, clients = new Set());
      if (clients.has(client)) return;
      clients.add(client);
    } else {
      if (!clients?.delete(client)) return;
      if (clients.size === 0) this.#byType.delete(type);
    }
    this.#cached.delete(type);
  }

  /**
   * Clients subscribed to `type`: the same frozen array until the type's
   * subscriptions change (then a new one), not a copy per call.
   */
  subscribers(type: string): readonly string[] {
    let list = this.#cached.get(type);
    if (list === undefined) {
      const clients = this.#byType.get(type);
      if (!clients) return NO_SUBSCRIBERS;
      this.#cached.set(type, list = Object.freeze([...clients]));
    }
    return list;
  }

  /** Whether `client` is subscribed to `type` now. */
  has(type: string, client: string): boolean {
    return this.#byType.get(type)?.has(client) ?? false;
  }

  /** Types `client` is subscribed to. */
  typesOf(client: string): string[] {
    return [...(this.#byClient.get(client) ?? [])];
  }

  /**
   * Adds `types` for `client` at once, or removes them once stored; resolves
   * once the file is on disk (synced, directory too). When that fails it
   * rejects and the change is undone (see the class).
   */
  update(client: string, types: string[], unsubscribe: boolean): Promise<void> {
    let waiting = 0;
    for (const c of this.#pending) if (c.client === client) waiting++;
    if (waiting >= MAX_WAITING_CHANGES) {
      throw new BrokerError(
        `Client "${client}" has too many subscription changes waiting to be stored (${waiting}, the most is ${MAX_WAITING_CHANGES}): refused, nothing changed (wait for the answers to the earlier ones, then ask again)`,
      );
    }
    const over = !unsubscribe && this.#overCap(client, types);
    // over the cap, but an unsubscription of this client waits to be stored: decide in its turn
    const deferred = over && this.#pending.some((c) => c.client === client && c.unsubscribe);
    if (over && !deferred) throw this.#capError(client); // refused whole: none of its types is added
    const change: Change = {
      client,
      types,
      unsubscribe,
      ...(deferred ? { deferred } : {}),
      done: Promise.withResolvers<void>(),
    };
    this.#pending.push(change);
    this.#settle(); // a subscription takes effect now; an unsubscription once stored
    if (this.#inFlight === 0) this.#flush();
    return change.done.promise;
  }

  /**
   * Stores every waiting change in one write, then those that arrived
   * meanwhile, until none waits: when a write starts, every earlier change
   * is stored or undone.
   */
  async #flush(): Promise<void> {
    while (this.#pending.length > 0) {
      const batch = this.#pending.slice();
      this.#inFlight = batch.length;
      const next = copy(this.#stored);
      const refused = new Map<Change, Error>();
      for (const [i, change] of batch.entries()) {
        if (change.deferred && this.#overCapAt(next, batch, i)) {
          refused.set(change, this.#capError(change.client));
        } else apply(next, change);
      }
      let failed: Error | undefined;
      if (refused.size < batch.length) {
        failed = await this.#storeAll(next).then(() => undefined, (e: Error) => e);
      }
      if (!failed) this.#stored = next;
      this.#pending.splice(0, batch.length);
      this.#inFlight = 0;
      this.#settle();
      for (const change of batch) {
        const err = refused.get(change) ?? failed;
        if (err) change.done.reject(err);
        else change.done.resolve();
      }
    }
  }

  /**
   * Whether deferred `batch[i]` takes its client past the cap in its turn:
   * what the changes before it leave, plus the subscriptions waiting after it.
   */
  #overCapAt(next: ByClient, batch: Change[], i: number): boolean {
    const { client, types } = batch[i]!;
    const set = new Set([...(next.get(client) ?? []), ...types]);
    for (const c of this.#pending.slice(i + 1)) {
      if (c.client === client && !c.unsubscribe && !c.deferred) {
        for (const t of c.types) set.add(t);
      }
    }
    return set.size > MAX_SUBSCRIBED_TYPES;
  }

  /** Writes `next` durably; when the file was replaced but not durably, writes the stored content back. */
  async #storeAll(next: ByClient): Promise<void> {
    try {
      await writeFileAtomic(this.#path, snapshot(next), this.#write);
    } catch (err) {
      if (!(err instanceof NotDurableError)) throw err; // the file is as it was
      // Replaced but not durable: acknowledging would promise what a power cut may undo,
      // so the changes are refused, and the file must not keep them either.
      const back = await writeFileAtomic(this.#path, snapshot(this.#stored), this.#write)
        .then(() => undefined, (e: Error) => e);
      throw new BrokerError(
        `Cannot write "${this.#path}" durably: syncing its directory failed: ${err.reason}; ${
          back
            ? `the change was undone, but writing the previous subscriptions back failed too: ${back.message} (after a restart the file may still hold it; check the disk)`
            : "the change was undone (check the disk, then ask again)"
        }`,
        { cause: err },
      );
    }
  }

  /** Whether adding `types` takes `client` past the cap (counting what waits to be stored). */
  #overCap(client: string, types: string[]): boolean {
    const set = this.#byClient.get(client) ?? new Set<string>();
    return new Set([...set, ...types]).size > MAX_SUBSCRIBED_TYPES;
  }

  #capError(client: string): BrokerError {
    const n = this.#byClient.get(client)?.size ?? 0;
    return new BrokerError(
      `Client "${client}" cannot subscribe to more than ${MAX_SUBSCRIBED_TYPES} types (subscribed to ${n}; unsubscribe some first)`,
    );
  }

  /**
   * Memory becomes what is stored plus the subscriptions waiting to be
   * (unsubscriptions, and subscriptions decided in their turn, count once
   * stored): after each request, store and refusal.
   */
  #settle(): void {
    const now = copy(this.#stored);
    for (const c of this.#pending) if (!c.unsubscribe && !c.deferred) apply(now, c);
    for (const [client, types] of this.#byClient) {
      for (const t of types) if (!now.get(client)?.has(t)) this.#index(t, client, false);
    }
    for (const [client, types] of now) for (const t of types) this.#index(t, client, true);
    this.#byClient = now;
  }
}

/** Applies `c` to `byClient`. */
function apply(byClient: ByClient, c: Change): void {
  const set = byClient.get(c.client) ?? new Set<string>();
  for (const t of c.types) {
    if (c.unsubscribe) set.delete(t);
    else set.add(t);
  }
  if (set.size === 0) byClient.delete(c.client);
  else byClient.set(c.client, set);
}

function copy(byClient: ByClient): ByClient {
  return new Map([...byClient].map(([c, t]) => [c, new Set(t)]));
}

/** The file's content. */
function snapshot(byClient: ByClient): string {
  return JSON.stringify(Object.fromEntries([...byClient].map(([c, t]) => [c, [...t]])));
}

/** What a {@linkcode PubSubHub} works with. */
export interface PubSubHubOptions {
  /** The server connector's name. */
  name: string;
  rule: PubSubRule;
  subscriptions: Subscriptions;
  /** Resolves a destination client to its peer state (throws for an unknown one; `sender` is who asks). */
  route(dst: string, sender: string): PeerState;
  /** The peer state of a subscriber (created on first use). */
  peer(name: string): PeerState;
  /** Cluster only: where copies go beyond this server (see `ClusterBridge`). */
  cluster?: PubSubCluster | undefined;
  /**
   * How long a sender's link waits for a congested destination link that
   * takes less than {@linkcode MIN_PROGRESS_BYTES} meanwhile, ms; then that link is closed as not reading (what
   * it held is journaled and sent again when the peer reconnects). Default
   * {@linkcode STALL_MS}.
   */
  stallMs?: number;
  /** Told when a destination link was closed as not reading. */
  onStalled?: (stall: Stall) => void;
  /** Timers of the stall deadline. Default {@linkcode systemClock}. */
  clock?: Clock;
}

/** Default {@linkcode PubSubHubOptions.stallMs}: 5 s. */
export const STALL_MS = 5000;

/**
 * What a congested destination link must take within each `stallMs` to keep
 * its senders waiting: 64 KiB. A peer that reads a trickle (a few bytes now
 * and then) is as good as not reading and would otherwise hold every sender
 * for as long as it liked.
 */
export const MIN_PROGRESS_BYTES = 64 * 1024;

/** A destination link closed as not reading (see {@linkcode PubSubHubOptions.onStalled}). */
export interface Stall {
  /** The destination peer. */
  peer: string;
  /** Messages sent on its link and not acknowledged (they go to its journal). */
  unacked: number;
  /** Bytes written to its socket and not taken by the network. */
  unsentBytes: number;
  /** How long it took too little (under 64 KiB per stall period), ms. */
  ms: number;
}

/** How a {@linkcode PubSubHub} reaches the other servers of a cluster. */
export interface PubSubCluster {
  /** Stores a copy for a client not connected here (resolves once stored), or `undefined` when it is here. */
  elsewhere(h: MsgHeader, data: DataBytes, binary: Uint8Array): Promise<void> | undefined;
  /** Hands a publication (header with the proven sender) to the other servers; resolves once stored. */
  published(h: MsgHeader, data: DataBytes, binary: Uint8Array): Promise<void>;
}

/**
 * The server's publish/subscribe and client-to-client forwarding: it checks
 * the rule for the proven sender, then stores a copy of the message for
 * each destination (on its link, or in its journal while it is away); the
 * returned promise settles once every copy is durable, so the sender's
 * acknowledgement means "stored for every subscriber".
 */
export class PubSubHub {
  readonly #opts: PubSubHubOptions;

  constructor(opts: PubSubHubOptions) {
    this.#opts = opts;
  }

  /** Subscribes (or unsubscribes) `client` to `types`; resolves once on disk. */
  subscribe(client: string, types: string[], unsubscribe: boolean): Promise<void> {
    if (!unsubscribe) { for (const t of types) this.#opts.rule.check("subscribe", client, t); }
    return this.#opts.subscriptions.update(client, types, unsubscribe);
  }

  /** Types `client` is subscribed to. */
  typesOf(client: string): string[] {
    return this.#opts.subscriptions.typesOf(client);
  }

  /**
   * Publishes a message from `src` (a proven client, or the server itself)
   * to every other subscriber of its type. Throws when the rule refuses.
   */
  publish(src: string, h: MsgHeader, data: DataBytes, binary: Uint8Array): Promise<void> {
    if (src !== this.#opts.name) this.#opts.rule.check("publish", src, h.type);
    const stored = this.fanout(src, h, data, binary);
    const shared = this.#opts.cluster?.published({ ...h, src }, data, binary);
    return shared ? Promise.all([stored, shared]).then(() => {}) : stored;
  }

  /**
   * Stores a copy of a publication from `src` for every subscriber of its
   * type on this server (a cluster's other servers call this for theirs).
   */
  fanout(src: string, h: MsgHeader, data: DataBytes, binary: Uint8Array): Promise<void> {
    const { rule, subscriptions } = this.#opts;
    const stores: Promise<void>[] = [];
    // The type's cached array: a subscription change replaces it, so this loop is undisturbed;
    // `has` skips a subscriber that left during it.
    for (const sub of subscriptions.subscribers(h.type)) {
      if (sub === src || !rule.allows("subscribe", sub, h.type)) continue;
      if (!subscriptions.has(h.type, sub)) continue;
      const peer = this.#opts.peer(sub);
      stores.push(peer.store(copyFor(h, src, sub, true), data, binary));
      this.#note(peer);
    }
    return Promise.all(stores).then(() => {});
  }

  /** Destinations whose links are congested by what was forwarded since the last `drained()`. */
  #congested = new Set<PeerState>();

  #note(peer: PeerState): void {
    if (peer.online && peer.link!.writer.congested) this.#congested.add(peer);
  }

  /**
   * Resolves once every destination link congested by forwarded messages
   * can take more (the sender's link waits on it, so a fast publisher
   * cannot pile messages up in the server's memory), or `undefined` when
   * none is. A destination link that takes less than 64 KiB in `stallMs` is closed
   * as not reading, so one peer cannot hold a sender's link (and everyone
   * else it sends to) for longer than that.
   */
  drained(): Promise<void> | undefined {
    if (this.#congested.size === 0) return undefined;
    const peers = [...this.#congested];
    this.#congested.clear();
    return Promise.all(peers.map((p) => this.#drainedOrCut(p))).then(() => {});
  }

  /** The one drain wait per congested destination link, shared by every sender waiting on it. */
  readonly #waits = new Map<Link, Promise<void>>();

  /** Resolves once `peer`'s link drains, closing it when it takes under 64 KiB in a `stallMs`. */
  #drainedOrCut(peer: PeerState): Promise<void> {
    const link = peer.link;
    if (!link) return peer.drained();
    let wait = this.#waits.get(link);
    if (wait) return wait;
    const ms = this.#opts.stallMs ?? STALL_MS;
    const clock = this.#opts.clock ?? systemClock;
    // What the network took, not what was written: other senders' writes into
    // the congested link's buffer are no progress of the peer's.
    let written = link.conn.bytesTaken;
    let took = 0;
    const check = () => {
      if (!link.open) return;
      took += ms;
      const now = link.conn.bytesTaken;
      if (now - written >= MIN_PROGRESS_BYTES) { // slow, but reading: wait on
        written = now;
        took = 0;
        timer = clock.after(ms, check);
        return;
      }
      const stall: Stall = {
        peer: peer.name,
        unacked: peer.unacked,
        unsentBytes: link.conn.unsent,
        ms: took,
      };
      link.abort(
        `peer "${peer.name}" is not reading: its link took under 64 KiB in ${took} ms with ${stall.unacked} messages unacknowledged (${
          Math.round(stall.unsentBytes / 1024)
        } KiB unsent); they are journaled and sent again when it reconnects`,
      );
      this.#opts.onStalled?.(stall);
    };
    let timer = clock.after(ms, check);
    wait = peer.drained().finally(() => {
      timer.clear();
      this.#waits.delete(link);
    });
    this.#waits.set(link, wait);
    return wait;
  }

  /** Forwards a message from client `src` to client `h.dst`. Throws when the rule or the destination refuses. */
  relay(src: string, h: MsgHeader, data: DataBytes, binary: Uint8Array): Promise<void> {
    this.#opts.rule.check("send", src, h.dst);
    const away = this.#opts.cluster?.elsewhere(copyFor(h, src, h.dst, false), data, binary);
    if (away) return away;
    const peer = this.#opts.route(h.dst, src);
    const stored = peer.store(copyFor(h, src, peer.name, false), data, binary);
    this.#note(peer);
    return stored;
  }
}

/** The header of a forwarded copy: sender proven by the server, destination one client. */
function copyFor(h: MsgHeader, src: string, dst: string, pub: boolean): MsgHeader {
  const { relay: _r, pub: _p, ack: _a, ...rest } = h;
  const out: MsgHeader = { ...rest, src, dst, fwd: true };
  if (pub) out.pub = true;
  return out;
}
