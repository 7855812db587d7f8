import type { Connection, PeerIdentity } from "../net/mod.ts";
import type { ClientFilter } from "./client_filter.ts";
import type { Logger } from "../log/mod.ts";
import type { Frame, MsgHeader } from "./frame.ts";
import { Link } from "./link.ts";
import type { PeerState } from "./peer.ts";
import { BrokerError } from "./errors.ts";
import { type ConnectorOptions, type PeerEvent, PROTOCOL_VERSION } from "./options.ts";
import type { Inbound } from "./_inbound.ts";
import type { PeerTable } from "./_peer_table.ts";
import { type PubSubHub, SUBSCRIBE_TYPE } from "./pubsub.ts";
import { AckWindow } from "./_ack_window.ts";
import { checkHello } from "./_hello_check.ts";
import { subscribeRequest } from "./_subscribe_request.ts";
import { type Clock, systemClock } from "../async/mod.ts";
import { copyBytes } from "./_copy.ts";
import { idTooLong } from "./_id_limit.ts";

const EMPTY: Uint8Array = new Uint8Array(0);

/** What every {@linkcode LinkSession} of a connector shares. */
export interface SessionContext {
  /** This connector's name (sent in hello/welcome). */
  name: string;
  connector: ConnectorOptions;
  /** The server's allow/deny lists (server only). */
  clientFilter?: ClientFilter;
  log: Logger;
  maxFrameBytes: number;
  peers: PeerTable;
  inbound: Inbound;
  /** Server only: publish/subscribe and client-to-client forwarding. */
  hub?: PubSubHub | undefined;
  /** Called when the server refuses this client for good. */
  onFatal(err: Error): void;
  /** Called once when the session's link closed. */
  onClosed(session: LinkSession): void;
  /** The other sessions bound to `peer` (a reconnected client replaces them). */
  othersOf(peer: PeerState, self: LinkSession): LinkSession[];
  /** Time and timers of heartbeats and held acknowledgements. Default {@linkcode systemClock}. */
  clock?: Clock | undefined;
}

/**
 * One connection between connectors, from handshake to close: it starts
 * unattached, is bound to its peer by the handshake (hello from a client
 * whose certificate carries the claimed name and is not revoked, welcome
 * from the server), takes that proven name as the sender of everything it
 * receives, hands messages on, acknowledges them once durable (refusing
 * what cannot be stored), and detaches the peer when it closes.
 */
export class LinkSession {
  readonly link: Link;
  readonly identity: PeerIdentity | undefined;
  readonly #ctx: SessionContext;
  readonly #log: Logger;
  /** The peer the handshake bound this link to. */
  peer: PeerState | undefined;
  /** The sender name the handshake proved (every `msg` must carry it as `src`). */
  #remoteName = "";
  /** Acknowledgements of what this link received. */
  readonly #acks: AckWindow;

  constructor(conn: Connection, identity: PeerIdentity | undefined, ctx: SessionContext) {
    this.identity = identity;
    this.#ctx = ctx;
    this.#log = ctx.log;
    const clock = ctx.clock ?? systemClock;
    this.#acks = new AckWindow({
      clock,
      commit: (background) => this.#commitIds(background),
      send: (n) => void this.link.send({ kind: "acks", n }),
    });
    this.link = new Link(conn, {
      maxFrameBytes: ctx.maxFrameBytes,
      heartbeatMs: ctx.connector.heartbeatMs ?? 5000,
      clock,
      onFrame: (frame, payload) => this.#onFrame(frame, payload),
      onChunkDone: () => this.#acks.chunkDone(),
      onClose: (reason) => this.#closed(reason),
    });
  }

  /** Acknowledgements in order, each after its messages are durable. */
  get ackChain(): Promise<void> {
    return this.#acks.chain;
  }

  #isServer(): boolean {
    return this.#ctx.connector.server !== undefined;
  }

  #onFrame(frame: Frame, payload: Uint8Array): void {
    const h = frame.header;
    switch (h.kind) {
      case "msg":
        this.#onMsg(h, frame, payload);
        return;
      case "acks":
        if (typeof h.n === "number") this.peer?.acked(h.n);
        return;
      case "refused":
        if (typeof h.n === "number") this.peer?.refused(h.n, String(h.message));
        return;
      case "hello":
        void this.#onHello(h.name);
        return;
      case "welcome":
        if (this.#isServer() || this.peer) break;
        this.#onWelcome(h.name);
        return;
      case "error": {
        if (h.fatal) {
          this.#log.error("refused by server", { reason: h.message });
          this.#ctx.onFatal(new BrokerError(`Refused by the server: ${h.message}`));
        } else this.#log.warn("peer reported an error", { reason: h.message });
        this.link.close(h.message);
        return;
      }
    }
    this.link.close(`unexpected frame kind "${h.kind}"`);
  }

  #onWelcome(serverName: string): void {
    const client = this.#ctx.connector.client!;
    const name = client.serverName ?? "server";
    this.#ctx.peers.serverWelcomeName = serverName;
    if (serverName !== name) {
      this.#log.debug("server connector has another name", { expected: name, got: serverName });
    }
    const peer = this.#ctx.peers.get(name);
    this.#remoteName = typeof serverName === "string" ? serverName : name;
    this.#attach(peer);
    this.#log.info("connected to server", {
      // The address this link reached (after a failover, not the first --server).
      server: this.identity
        ? `${this.identity.address}:${this.identity.port}`
        : `${client.host}:${client.port}`,
      replayed: peer.journal.count,
    });
  }

  #refuseClient(reason: string, fatal: boolean): void {
    const where = `${this.identity?.address}:${this.identity?.port}`;
    this.#log.warn("refused client", { peer: where, reason });
    this.link.send({ kind: "error", message: reason, fatal });
    this.link.close(reason);
  }

  async #onHello(name: string): Promise<void> {
    if (!this.#isServer() || this.peer || this.#remoteName !== "") {
      this.link.close("unexpected hello");
      return;
    }
    const id = this.identity;
    const where = `${id?.address}:${id?.port}`;
    if (!id?.fingerprint) {
      this.link.send({ kind: "error", message: "no client certificate presented", fatal: true });
      this.link.close("no client certificate");
      return;
    }
    const refused = await checkHello(name, id, this.#ctx.connector.server, this.#ctx.clientFilter);
    if (!this.link.open) return;
    if (refused) return this.#refuseClient(refused.reason, refused.fatal);
    this.#remoteName = name;
    await this.#ctx.inbound.open(name);
    if (!this.link.open) return;
    const peer = this.#ctx.peers.get(name);
    if (peer.blocked) {
      this.link.send({ kind: "error", message: `peer "${name}" is blocked on the server` });
      this.link.close("blocked");
      return;
    }
    if (peer.link?.open) {
      this.#log.warn("replacing the existing link of a reconnected client", { peer: name });
      peer.link.close("replaced by a new connection");
      for (const s of this.#ctx.othersOf(peer, this)) s.#detach();
    }
    this.link.send({ kind: "welcome", name: this.#ctx.name, v: PROTOCOL_VERSION });
    this.#attach(peer);
    peer.address = where;
    peer.cn = id.cn;
    this.#log.info("client connected", {
      peer: name,
      address: where,
      // the journal's messages, sent again from the start now (each stays until acknowledged)
      replayed: peer.journal.count,
    });
  }

  #attach(peer: PeerState): void {
    this.peer = peer;
    peer.attach(this.link);
    this.#emitPeer("connected");
  }

  #emitPeer(event: "connected" | "disconnected", reason?: string): void {
    const opts = this.#ctx.connector;
    if (!opts.onPeer || !this.peer) return;
    const e: PeerEvent = {
      peer: this.peer.name,
      event,
      address: `${this.identity?.address}:${this.identity?.port}`,
    };
    if (this.identity?.fingerprint) e.fingerprint = this.identity.fingerprint;
    if (reason !== undefined) e.reason = reason;
    try {
      opts.onPeer(e);
    } catch (err) {
      this.#log.error("onPeer failed", { error: (err as Error).message });
    }
  }

  #detach(): void {
    const peer = this.peer;
    if (!peer || peer.link !== this.link) return;
    peer.detach();
  }

  #closedOnce = false;

  /** The link closed: detaches the peer and reports it (once). */
  #closed(reason: string): void {
    if (this.#closedOnce) return;
    this.#closedOnce = true;
    this.#acks.close();
    this.#ctx.onClosed(this);
    if (this.peer) {
      this.#log.info("peer disconnected", { peer: this.peer.name, reason });
      this.#detach();
      this.#emitPeer("disconnected", reason);
    }
  }

  /** Detaches the peer now (connector closing), as if the link had closed. */
  detachNow(reason: string): void {
    this.#closed(reason);
  }

  // ---- receiving ----

  #onMsg(h: MsgHeader, frame: Frame, payload: Uint8Array): void {
    const peer = this.peer;
    const inbound = this.#ctx.inbound;
    const seen = peer && inbound.seenOf(peer.name);
    if (!peer || !seen) {
      this.link.close("message before hello");
      return;
    }
    if (typeof h.id !== "string" || typeof h.type !== "string" || h.type === "") {
      this.link.send({
        kind: "error",
        message: 'Malformed message: "id" and "type" must be strings',
      });
      this.link.close("malformed message");
      return;
    }
    const tooLong = idTooLong(h);
    if (tooLong !== undefined) {
      this.#log.warn("refused a message with a too long id", { peer: peer.name, error: tooLong });
      this.link.send({ kind: "error", message: tooLong });
      this.link.close(`protocol error: ${tooLong}`);
      return;
    }
    // A client takes the server's word for the sender of what it forwards (the server checked its certificate).
    const relayed = h.fwd === true && !this.#isServer();
    if (h.src !== this.#remoteName && !relayed) {
      this.#log.warn("refused a message with a forged sender", {
        peer: peer.name,
        claimed: h.src,
        id: h.id,
      });
      this.link.send({
        kind: "error",
        message:
          `Message "${h.id}" claims the sender "${h.src}" but this link belongs to "${this.#remoteName}": refused`,
      });
      this.link.close("forged sender");
      return;
    }
    const n = this.#acks.received(h.ack === true);
    peer.stats.msgsIn++;
    if (seen.seen(seenKey(h, relayed))) return;
    const hub = this.#ctx.hub;
    if (hub) {
      if (h.type === SUBSCRIBE_TYPE) return this.#onSubscribe(hub, n, h, frame.data);
      if (h.pub || h.relay) return this.#forward(hub, n, h, frame);
    }
    const from = relayed ? h.src : peer.name;
    if (h.file) {
      this.#onFileChunk(n, h, frame, from);
      return;
    }
    if (h.replyTo !== undefined) {
      if (inbound.pending.answer(h.replyTo, from, h, frame.data, frame.binary, payload)) {
        return;
      }
    }
    this.#deliver(n, h, frame.data, frame.binary, payload);
  }

  /** Server: a client publishes, or sends to another client; acknowledged once stored for every destination. */
  #forward(hub: PubSubHub, n: number, h: MsgHeader, frame: Frame): void {
    const data = copyBytes(frame.data);
    const binary = copyBytes(frame.binary);
    try {
      const stored = h.pub
        ? hub.publish(this.#remoteName, h, data, binary)
        : hub.relay(this.#remoteName, h, data, binary);
      this.#acks.wait(stored.catch((err) => this.#refuse(n, h, err)));
    } catch (err) {
      this.#refuse(n, h, err as Error);
    }
    const drained = hub.drained();
    if (drained) this.link.hold(drained);
  }

  /** Server: a client (un)subscribes; the answer says whether the rule allowed it. */
  #onSubscribe(hub: PubSubHub, n: number, h: MsgHeader, data: Uint8Array): void {
    const client = this.#remoteName;
    const answer = (body: object) => this.#ctx.inbound.answer(client, SUBSCRIBE_TYPE, h.id, body);
    const stored = subscribeRequest(hub, client, data, answer, this.#log);
    if (stored) this.#acks.wait(stored.catch((err) => this.#refuse(n, h, err)));
  }

  #onFileChunk(n: number, h: MsgHeader, frame: Frame, from: string): void {
    const file = h.file!;
    const inbound = this.#ctx.inbound;
    const res = inbound.files.chunk(h.type, from, file, frame.binary);
    if (!res) return;
    if (!res.ok) inbound.fileRefused({ from, type: h.type, error: res.error });
    inbound.answer(from, h.type, file.transfer, res.ok ? { ok: true, ...res.result } : res);
    if (res.ok) {
      const note: MsgHeader = {
        kind: "msg",
        type: h.type,
        src: h.src,
        dst: h.dst,
        id: file.transfer,
        enc: "json",
      };
      const data = new TextEncoder().encode(JSON.stringify({ file: file.name, ...res.result }));
      this.#deliver(n, note, data, EMPTY, undefined);
    }
  }

  #deliver(
    n: number,
    h: MsgHeader,
    data: Uint8Array,
    binary: Uint8Array,
    payload: Uint8Array | undefined,
  ): void {
    try {
      const r = this.#ctx.inbound.listeners.deliver(this.link, h, data, binary, payload);
      if (r !== true) this.#acks.wait(r.catch((err) => this.#refuse(n, h, err)));
    } catch (err) {
      this.#refuse(n, h, err as Error);
    }
  }

  #refuse(n: number, h: MsgHeader, err: Error): void {
    const relayed = h.fwd === true && !this.#isServer();
    this.#ctx.inbound.seenOf(this.peer?.name ?? "")?.forget(seenKey(h, relayed));
    this.#log.warn("refused a message that cannot be stored", {
      peer: this.peer?.name,
      id: h.id,
      type: h.type,
      error: err.message,
    });
    this.link.send({ kind: "refused", n, id: h.id, message: err.message });
  }

  /** Acknowledges what the link received so far once it is durable; refusals go first. */
  flushAcks(): void {
    this.#acks.flush();
  }

  /** Stores the received ids of the bound peer (`undefined` before the handshake). */
  #commitIds(background: boolean): Promise<void> | undefined {
    const peer = this.peer;
    if (!peer) return undefined;
    return this.#ctx.inbound.seenOf(peer.name)?.commit(background).catch((err) =>
      this.#log.warn("cannot store received ids (repeats after a crash may be delivered twice)", {
        peer: peer.name,
        error: (err as Error).message,
      })
    ) ?? Promise.resolve();
  }
}

/** The received-id key of a message: a relayed one's id is unique only per original sender. */
function seenKey(h: MsgHeader, relayed: boolean): string {
  return relayed ? `${h.src}\n${h.id}` : h.id;
}
