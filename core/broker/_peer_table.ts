import { parseLegacyRecords } from "../storage/mod.ts";
import { PeerState, type PeerStateOptions } from "./peer.ts";
import { BrokerError } from "./errors.ts";
import { fileNameOf } from "./_file_names.ts";

/** Valid connector names (also destinations). */
export const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.@-]{0,127}$/;

/** Options for {@linkcode PeerTable}. */
export interface PeerTableOptions {
  /** This connector's name (for error messages). */
  name: string;
  /** Directory of the per-peer journals. */
  dir: string;
  /** Options of each peer's journal. */
  journal: PeerStateOptions;
  /** Told about damage in a legacy journal file being moved into the record log. */
  onLegacyDamage?: (file: string, error: string) => void;
  /** A client connector's configured server name; `undefined` on the server. */
  serverName: string | undefined;
  /** Server: route to client names never seen (journal for them). Default `false`. */
  queueForUnknown?: boolean;
  /**
   * Server with `queueForUnknown`: most journals kept for client names that
   * never connected (each holds a file open). Default
   * {@linkcode MAX_UNKNOWN_JOURNALS}.
   */
  maxUnknownJournals?: number;
}

/** Default {@linkcode PeerTableOptions.maxUnknownJournals}. */
export const MAX_UNKNOWN_JOURNALS = 1024;
/** Most journals for never-connected names one sender can make the server keep. */
export const MAX_UNKNOWN_JOURNALS_PER_SENDER = 64;
/**
 * Beside a journal for a name that never connected (`.NAME.unknown`): who
 * made it. The leading dot keeps it apart from every journal: a client name
 * never starts with one (`NAME_RE`), while `x.unknown` is a valid name.
 */
const UNKNOWN_SUFFIX = ".unknown";

/**
 * The peers a connector knows, by name, each with its journal, and the
 * routing rule from a destination to a peer: a client reaches its server,
 * and other clients through it; the server reaches any validly named client
 * (queued while away).
 */
export class PeerTable {
  readonly #opts: PeerTableOptions;
  readonly #peers = new Map<string, PeerState>();
  /** Journals for names that never connected: name → the sender that made it. */
  readonly #unknown = new Map<string, string>();
  /** The name the server gave in its welcome (routes like the configured server name). */
  serverWelcomeName: string | undefined;

  constructor(opts: PeerTableOptions) {
    this.#opts = opts;
  }

  /**
   * Opens the journals already on disk (every peer seen before has one),
   * moving journals of the older single-file format (`NAME.journal`) into
   * the record log.
   */
  async openExisting(): Promise<void> {
    try {
      for (const e of Deno.readDirSync(this.#opts.dir)) {
        if (e.isDirectory) this.#open(decodeURIComponent(e.name));
        else if (e.isFile && e.name.startsWith(".") && e.name.endsWith(UNKNOWN_SUFFIX)) {
          const name = decodeURIComponent(e.name.slice(1, -UNKNOWN_SUFFIX.length));
          this.#unknown.set(name, Deno.readTextFileSync(`${this.#opts.dir}/${e.name}`));
        } else if (e.isFile && e.name.endsWith(".journal")) {
          const p = this.#open(decodeURIComponent(e.name.slice(0, -".journal".length)));
          const file = `${this.#opts.dir}/${e.name}`;
          const { payloads, error } = parseLegacyRecords(Deno.readFileSync(file));
          if (error) this.#opts.onLegacyDamage?.(file, error);
          for (const payload of payloads) p.adopt(payload.slice());
          await p.journal.flush();
          Deno.removeSync(file);
        }
      }
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
  }

  /**
   * The state of peer `name`, created (journal opened) on first use: a peer
   * that is here (connected, or subscribed), so a journal kept for it while
   * its name was unknown no longer counts against the cap.
   */
  get(name: string): PeerState {
    if (this.#unknown.delete(name)) {
      try {
        Deno.removeSync(this.#marker(name));
      } catch (err) {
        if (!(err instanceof Deno.errors.NotFound)) throw err;
      }
    }
    return this.#open(name);
  }

  #marker(name: string): string {
    return `${this.#opts.dir}/.${fileNameOf(name)}${UNKNOWN_SUFFIX}`;
  }

  #open(name: string): PeerState {
    let p = this.#peers.get(name);
    if (!p) {
      p = new PeerState(name, `${this.#opts.dir}/${fileNameOf(name)}`, this.#opts.journal);
      this.#peers.set(name, p);
    }
    return p;
  }

  /** The state of peer `name` if known. */
  find(name: string): PeerState | undefined {
    return this.#peers.get(name);
  }

  /** Every known peer. */
  all(): PeerState[] {
    return [...this.#peers.values()];
  }

  /**
   * Whether a client connector sends to `dst` through its server (another
   * client): any name other than the server's.
   */
  relays(dst: string | undefined): boolean {
    const server = this.#opts.serverName;
    return server !== undefined && dst !== undefined && dst !== "" && dst !== server &&
      dst !== this.serverWelcomeName;
  }

  /**
   * The peer state a destination resolves to (throws for a bad or
   * unreachable name). On a server queueing for unknown names, `sender`
   * (default: the server itself) is who would make a new journal for one.
   */
  route(dst: string | undefined, sender: string = this.#opts.name): PeerState {
    const server = this.#opts.serverName;
    if (server !== undefined) {
      if (this.relays(dst)) {
        if (!NAME_RE.test(dst!)) throw new BrokerError(`Invalid destination name "${dst}"`);
        if (dst === this.#opts.name) {
          throw new BrokerError(
            `Destination "${dst}" is this client connector itself: send to another client or to the server "${server}"`,
          );
        }
      }
      return this.get(server);
    }
    if (dst === undefined || dst === "") {
      throw new BrokerError("Missing destination: name the client connector to send to");
    }
    if (!NAME_RE.test(dst)) throw new BrokerError(`Invalid destination name "${dst}"`);
    if (!this.#peers.has(dst) && !this.#opts.queueForUnknown) {
      throw new BrokerError(
        `Unknown destination "${dst}": no client connector of that name has ever connected to server "${this.#opts.name}" (check the name; start the server with --queue-for-unknown to journal messages for clients that have not connected yet)`,
      );
    }
    if (!this.#peers.has(dst)) this.#admitUnknown(dst, sender);
    return this.#open(dst);
  }

  /** Counts a new journal for never-connected `dst` against the caps, or throws past them. */
  #admitUnknown(dst: string, sender: string): void {
    const max = this.#opts.maxUnknownJournals ?? MAX_UNKNOWN_JOURNALS;
    if (this.#unknown.size >= max) {
      throw new BrokerError(
        `Cannot queue for unknown destination "${dst}": server "${this.#opts.name}" already keeps journals for ${this.#unknown.size} client names that never connected, the most allowed (--max-unknown-journals ${max}; check the names, or raise it)`,
      );
    }
    let mine = 0;
    for (const by of this.#unknown.values()) if (by === sender) mine++;
    if (mine >= MAX_UNKNOWN_JOURNALS_PER_SENDER) {
      throw new BrokerError(
        `Cannot queue for unknown destination "${dst}": "${sender}" already made server "${this.#opts.name}" keep journals for ${mine} client names that never connected, the most one sender may (${MAX_UNKNOWN_JOURNALS_PER_SENDER}; check the names, or wait until those clients connect)`,
      );
    }
    Deno.writeTextFileSync(this.#marker(dst), sender);
    this.#unknown.set(dst, sender);
  }
}
