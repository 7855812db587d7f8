import type { JournalOptions } from "./journal.ts";
import { PeerState } from "./peer.ts";
import { BrokerError } from "./errors.ts";

/** Valid connector names (also destinations). */
export const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.@-]{0,127}$/;

/** Options for {@linkcode PeerTable}. */
export interface PeerTableOptions {
  /** This connector's name (for error messages). */
  name: string;
  /** Directory of the per-peer journals. */
  dir: string;
  /** Options of each peer's journal. */
  journal: Omit<JournalOptions, "name">;
  /** A client connector's configured server name; `undefined` on the server. */
  serverName: string | undefined;
}

/**
 * The peers a connector knows, by name, each with its journal, and the
 * routing rule from a destination to a peer: a client reaches only its
 * server; the server reaches any validly named client (queued while away).
 */
export class PeerTable {
  readonly #opts: PeerTableOptions;
  readonly #peers = new Map<string, PeerState>();
  /** The name the server gave in its welcome (routes like the configured server name). */
  serverWelcomeName: string | undefined;

  constructor(opts: PeerTableOptions) {
    this.#opts = opts;
  }

  /** Opens the journals already on disk (peers with queued messages). */
  openExisting(): void {
    try {
      for (const e of Deno.readDirSync(this.#opts.dir)) {
        if (e.isFile && e.name.endsWith(".journal")) {
          this.get(decodeURIComponent(e.name.slice(0, -".journal".length)));
        }
      }
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
  }

  /** The state of peer `name`, created (journal opened) on first use. */
  get(name: string): PeerState {
    let p = this.#peers.get(name);
    if (!p) {
      p = new PeerState(name, this.#opts.dir, this.#opts.journal);
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

  /** The peer state a destination resolves to (throws for a bad or unreachable name). */
  route(dst: string | undefined): PeerState {
    const server = this.#opts.serverName;
    if (server !== undefined) {
      if (dst === undefined || dst === "" || dst === server || dst === this.serverWelcomeName) {
        return this.get(server);
      }
      throw new BrokerError(
        `Unknown destination "${dst}": client connector "${this.#opts.name}" reaches only its server "${server}"`,
      );
    }
    if (dst === undefined || dst === "") {
      throw new BrokerError("Missing destination: name the client connector to send to");
    }
    if (!NAME_RE.test(dst)) throw new BrokerError(`Invalid destination name "${dst}"`);
    return this.get(dst);
  }
}
