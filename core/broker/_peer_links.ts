import type { Connection, PeerIdentity } from "../net/mod.ts";
import type { Logger } from "../log/mod.ts";
import type { Frame } from "./frame.ts";
import { Link } from "./link.ts";
import type { PeerState } from "./peer.ts";
import { BrokerError } from "./errors.ts";
import { type ConnectorOptions, type PeerEvent, PROTOCOL_VERSION } from "./options.ts";
import type { Inbound } from "./_inbound.ts";
import type { PeerTable } from "./_peer_table.ts";

/** State of one link. */
export interface LinkState {
  link: Link;
  peer: PeerState | undefined;
  /** Messages received on this link. */
  recv: number;
  /** Messages acknowledged back. */
  acked: number;
  needFlush: boolean;
  /** Queue flushes in progress; acks wait behind them. */
  flushing: number;
  ackChain: Promise<void>;
  identity: PeerIdentity | undefined;
}

/** What {@linkcode PeerLinks} works with. */
export interface PeerLinksOptions {
  /** This connector's name (sent in hello/welcome). */
  name: string;
  connector: ConnectorOptions;
  log: Logger;
  maxFrameBytes: number;
  peers: PeerTable;
  inbound: Inbound;
  /** Called when the server refuses this client for good. */
  onFatal(err: Error): void;
}

/**
 * The links between connectors: each starts unattached, is bound to its
 * peer by the handshake (hello from a client whose certificate carries the
 * claimed name, welcome from the server), dispatches frames, and detaches
 * the peer (its unacknowledged messages back to the journal) when it closes.
 */
export class PeerLinks {
  readonly #opts: PeerLinksOptions;
  readonly #log: Logger;
  readonly #links = new Set<LinkState>();

  constructor(opts: PeerLinksOptions) {
    this.#opts = opts;
    this.#log = opts.log;
  }

  /** Every open link. */
  get all(): LinkState[] {
    return [...this.#links];
  }

  #isServer(): boolean {
    return this.#opts.connector.server !== undefined;
  }

  /** Wraps a connected socket in a link (not yet attached to a peer). */
  open(conn: Connection, identity: PeerIdentity | undefined): LinkState {
    const state: LinkState = {
      link: undefined as unknown as Link,
      peer: undefined,
      recv: 0,
      acked: 0,
      needFlush: false,
      flushing: 0,
      ackChain: Promise.resolve(),
      identity,
    };
    state.link = new Link(conn, {
      maxFrameBytes: this.#opts.maxFrameBytes,
      heartbeatMs: this.#opts.connector.heartbeatMs ?? 5000,
      onFrame: (frame, payload) => this.#onFrame(state, frame, payload),
      onChunkDone: () => this.#opts.inbound.ack(state),
      onClose: (reason) => this.closed(state, reason),
    });
    this.#links.add(state);
    return state;
  }

  /** Serves one accepted client connection until it closes (server side). */
  async serve(conn: Connection, identity: PeerIdentity, signal: AbortSignal): Promise<void> {
    const state = this.open(conn, identity);
    const hello = setTimeout(() => {
      if (!state.peer) state.link.close("no hello within 10 s");
    }, 10_000);
    const onAbort = () => state.link.close("server closing");
    signal.addEventListener("abort", onAbort, { once: true });
    await state.link.closed;
    clearTimeout(hello);
    signal.removeEventListener("abort", onAbort);
  }

  #onFrame(state: LinkState, frame: Frame, payload: Uint8Array): void {
    const h = frame.header;
    switch (h.kind) {
      case "msg":
        this.#opts.inbound.onMsg(state, h, frame, payload);
        return;
      case "acks":
        state.peer?.acked(h.n);
        return;
      case "hello":
        this.#onHello(state, h.name);
        return;
      case "welcome": {
        if (this.#isServer() || state.peer) break;
        const client = this.#opts.connector.client!;
        const name = client.serverName ?? "server";
        this.#opts.peers.serverWelcomeName = h.name;
        if (h.name !== name) {
          this.#log.debug("server connector has another name", { expected: name, got: h.name });
        }
        const peer = this.#opts.peers.get(name);
        this.#attach(state, peer);
        this.#log.info("connected to server", {
          server: `${client.host}:${client.port}`,
          replayed: peer.unacked,
        });
        return;
      }
      case "error": {
        if (h.fatal) {
          this.#log.error("refused by server", { reason: h.message });
          this.#opts.onFatal(new BrokerError(`Refused by the server: ${h.message}`));
        } else this.#log.warn("peer reported an error", { reason: h.message });
        state.link.close(h.message);
        return;
      }
    }
    state.link.close(`unexpected frame kind "${h.kind}"`);
  }

  #onHello(state: LinkState, name: string): void {
    if (!this.#isServer() || state.peer) {
      state.link.close("unexpected hello");
      return;
    }
    const cn = state.identity?.cn;
    const where = `${state.identity?.address}:${state.identity?.port}`;
    if (!state.identity?.fingerprint) {
      state.link.send({ kind: "error", message: "no client certificate presented", fatal: true });
      state.link.close("no client certificate");
      return;
    }
    if (typeof name !== "string" || name !== cn) {
      const reason =
        `certificate names "${cn}" but the connector claims the name "${name}" (issue a certificate for "${name}" with "sockkit certs issue ${name}")`;
      this.#log.warn("refused client", { peer: where, reason });
      state.link.send({ kind: "error", message: reason, fatal: true });
      state.link.close(reason);
      return;
    }
    const peer = this.#opts.peers.get(name);
    if (peer.blocked) {
      state.link.send({ kind: "error", message: `peer "${name}" is blocked on the server` });
      state.link.close("blocked");
      return;
    }
    if (peer.link?.open) {
      this.#log.warn("replacing the existing link of a reconnected client", { peer: name });
      peer.link.close("replaced by a new connection");
      for (const s of this.#links) if (s.peer === peer && s !== state) this.#detach(s);
    }
    state.link.send({ kind: "welcome", name: this.#opts.name, v: PROTOCOL_VERSION });
    this.#attach(state, peer);
    peer.address = where;
    peer.cn = cn;
    this.#log.info("client connected", { peer: name, address: where, replayed: peer.unacked });
  }

  #attach(state: LinkState, peer: PeerState): void {
    state.peer = peer;
    peer.attach(state.link);
    this.#emitPeer(state, "connected");
  }

  #emitPeer(state: LinkState, event: "connected" | "disconnected", reason?: string): void {
    const opts = this.#opts.connector;
    if (!opts.onPeer || !state.peer) return;
    const e: PeerEvent = {
      peer: state.peer.name,
      event,
      address: `${state.identity?.address}:${state.identity?.port}`,
    };
    if (state.identity?.fingerprint) e.fingerprint = state.identity.fingerprint;
    if (reason !== undefined) e.reason = reason;
    try {
      opts.onPeer(e);
    } catch (err) {
      this.#log.error("onPeer failed", { error: (err as Error).message });
    }
  }

  #detach(state: LinkState): void {
    const peer = state.peer;
    if (!peer || peer.link !== state.link) return;
    peer.detach();
  }

  /** A link closed: detaches its peer and reports it (once per link). */
  closed(state: LinkState, reason: string): void {
    if (!this.#links.delete(state)) return;
    if (state.peer) {
      this.#log.info("peer disconnected", { peer: state.peer.name, reason });
      this.#detach(state);
      this.#emitPeer(state, "disconnected", reason);
    }
  }
}
