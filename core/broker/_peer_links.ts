import type { Connection, PeerIdentity } from "../net/mod.ts";
import { LinkSession, type SessionContext } from "./link_session.ts";

/** What {@linkcode PeerLinks} works with. */
export type PeerLinksOptions = Omit<SessionContext, "onClosed" | "othersOf">;

/** The live {@linkcode LinkSession}s of a connector, one per connection. */
export class PeerLinks {
  readonly #ctx: SessionContext;
  readonly #sessions = new Set<LinkSession>();

  constructor(opts: PeerLinksOptions) {
    this.#ctx = {
      ...opts,
      onClosed: (s) => void this.#sessions.delete(s),
      othersOf: (peer, self) => [...this.#sessions].filter((s) => s.peer === peer && s !== self),
    };
  }

  /** Every open session. */
  get all(): LinkSession[] {
    return [...this.#sessions];
  }

  /** Starts a session on a connection (not yet attached to a peer). */
  open(conn: Connection, identity: PeerIdentity | undefined): LinkSession {
    const s = new LinkSession(conn, identity, this.#ctx);
    this.#sessions.add(s);
    return s;
  }

  /** Serves one accepted client connection until it closes (server side). */
  async serve(conn: Connection, identity: PeerIdentity, signal: AbortSignal): Promise<void> {
    const s = this.open(conn, identity);
    const hello = setTimeout(() => {
      if (!s.peer) s.link.close("no hello within 10 s");
    }, 10_000);
    const onAbort = () => s.link.close("server closing");
    signal.addEventListener("abort", onAbort, { once: true });
    await s.link.closed;
    clearTimeout(hello);
    signal.removeEventListener("abort", onAbort);
  }
}
