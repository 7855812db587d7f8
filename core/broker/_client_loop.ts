import { delay } from "../async/mod.ts";
import { connect } from "../net/mod.ts";
import type { Logger } from "../log/mod.ts";
import { type ConnectorOptions, PROTOCOL_VERSION } from "./options.ts";
import type { PeerLinks } from "./_peer_links.ts";
import type { PeerTable } from "./_peer_table.ts";

/** What {@linkcode ClientLoop} works with. */
export interface ClientLoopOptions {
  /** This connector's name (sent in hello). */
  name: string;
  client: NonNullable<ConnectorOptions["client"]>;
  /** Reconnect backoff bounds, ms. Default 200 → 5000. */
  backoff: ConnectorOptions["backoff"];
  log: Logger;
  peers: PeerTable;
  links: PeerLinks;
  /** Stops the loop and closes the current link. */
  signal: AbortSignal;
}

/**
 * A client connector's link to its server: connects, says hello, waits for
 * the link to close, then reconnects with exponential backoff (reset once a
 * link was accepted) until the signal aborts. While the server peer is
 * blocked it does not connect; `wake()` retries at once.
 */
export class ClientLoop {
  readonly #opts: ClientLoopOptions;
  #wake: (() => void) | undefined;
  /** Resolves once the loop has stopped. */
  readonly done: Promise<void>;

  constructor(opts: ClientLoopOptions) {
    this.#opts = opts;
    this.done = this.#run();
  }

  /** Ends the current backoff wait now (after `unblock`). */
  wake(): void {
    this.#wake?.();
  }

  async #run(): Promise<void> {
    const { client: c, log, signal } = this.#opts;
    const min = this.#opts.backoff?.minMs ?? 200;
    const max = this.#opts.backoff?.maxMs ?? 5000;
    let retryMs = min;
    // Failover: the next address after a failed attempt, back to the backoff once all failed.
    const addresses = [{ host: c.host, port: c.port }, ...(c.fallbacks ?? [])];
    let at = 0;
    let failures = 0;
    while (!signal.aborted) {
      const { host, port } = addresses[at]!;
      let accepted = false;
      const server = this.#opts.peers.get(c.serverName ?? "server");
      if (!server.blocked) {
        try {
          const conn = await connect({ host, port, tls: c.tls, signal });
          const state = this.#opts.links.open(conn, conn.peer);
          state.link.send({ kind: "hello", name: this.#opts.name, v: PROTOCOL_VERSION });
          const onAbort = () => state.link.close("connector closing");
          signal.addEventListener("abort", onAbort, { once: true });
          await state.link.closed;
          signal.removeEventListener("abort", onAbort);
          if (state.peer) {
            retryMs = min;
            accepted = true;
          } else if (!signal.aborted) {
            log.warn("cannot reach server", {
              server: `${host}:${port}`,
              error:
                "the server closed the connection before accepting this connector (is its certificate unknown, revoked or blocked?)",
              retryMs,
            });
          }
        } catch (err) {
          if (signal.aborted) break;
          log.warn("cannot reach server", {
            server: `${host}:${port}`,
            error: (err as Error).message,
            retryMs,
          });
        }
      }
      if (signal.aborted) break;
      if (accepted) failures = 0;
      else if (addresses.length > 1) {
        at = (at + 1) % addresses.length;
        // Try the next server at once until each has failed this round.
        if (++failures % addresses.length !== 0) continue;
      }
      const woken = new AbortController();
      this.#wake = () => woken.abort();
      // Ends early on wake() or shutdown; both listeners go with the wait.
      await delay(retryMs, { signal: AbortSignal.any([signal, woken.signal]) }).catch(() => {});
      this.#wake = undefined;
      retryMs = Math.min(retryMs * 2, max);
    }
  }
}
