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

const EMPTY: Uint8Array = new Uint8Array(0);
/**
 * How long an acknowledgement nobody waits for (no message since the last
 * one asked for it) may be held back, so that its received-id record joins
 * the next group commit instead of costing an `fdatasync` of its own.
 */
const LAZY_ACK_MS = 5;
/** Messages after which a held-back acknowledgement goes out anyway. */
const LAZY_ACK_MAX = 4096;

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
  /** Messages received, and acknowledged back. */
  #recv = 0;
  #acked = 0;
  /** Durability of messages received since the last acknowledgement. */
  #waits: Promise<void>[] = [];
  /** Whether a message received since the last acknowledgement asked for one (`ack`). */
  #ackWanted = false;
  #lazyAck: ReturnType<typeof setTimeout> | undefined;
  /** Acknowledgements in order, each after its messages are durable. */
  ackChain: Promise<void> = Promise.resolve();

  constructor(conn: Connection, identity: PeerIdentity | undefined, ctx: SessionContext) {
    this.identity = identity;
    this.#ctx = ctx;
    this.#log = ctx.log;
    this.link = new Link(conn, {
      maxFrameBytes: ctx.maxFrameBytes,
      heartbeatMs: ctx.connector.heartbeatMs ?? 5000,
      onFrame: (frame, payload) => this.#onFrame(frame, payload),
      onChunkDone: () => this.#chunkDone(),
      onClose: (reason) => this.#closed(reason),
    });
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
      server: `${client.host}:${client.port}`,
      replayed: peer.unacked,
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
    const cn = id?.cn;
    const where = `${id?.address}:${id?.port}`;
    if (!id?.fingerprint) {
      this.link.send({ kind: "error", message: "no client certificate presented", fatal: true });
      this.link.close("no client certificate");
      return;
    }
    if (typeof name !== "string" || name !== cn) {
      return this.#refuseClient(
        `certificate names "${cn}" but the connector claims the name "${name}" (issue a certificate for "${name}" with "sockkit certs issue ${name}")`,
        true,
      );
    }
    const refusal = this.#ctx.connector.server?.authorize?.(id);
    if (refusal !== undefined) {
      // A revocation is final for the client; a revocation list the server cannot read is not.
      return this.#refuseClient(
        `certificate of "${name}" refused: ${refusal}`,
        !refusal.startsWith("cannot check"),
      );
    }
    const filtered = this.#ctx.clientFilter?.check(name, id.address);
    if (filtered !== undefined) {
      // not final: the operator may change the lists while the client keeps retrying
      return this.#refuseClient(`refused by the server's client filter: ${filtered}`, false);
    }
    const admit = this.#ctx.connector.server?.admit;
    if (admit) {
      const no = await admit(id, name);
      if (!this.link.open) return;
      if (typeof no === "string") return this.#refuseClient(no, true);
      if (no !== undefined) return this.#refuseClient(no.reason, false);
    }
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
    peer.cn = cn;
    this.#log.info("client connected", { peer: name, address: where, replayed: peer.unacked });
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
    clearTimeout(this.#lazyAck);
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
    const n = ++this.#recv;
    peer.stats.msgsIn++;
    if (h.ack) this.#ackWanted = true;
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
    const data = frame.data.slice();
    const binary = frame.binary.length ? frame.binary.slice() : EMPTY;
    try {
      const stored = h.pub
        ? hub.publish(this.#remoteName, h, data, binary)
        : hub.relay(this.#remoteName, h, data, binary);
      this.#waits.push(stored.catch((err) => this.#refuse(n, h, err)));
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
    let stored: Promise<void>;
    try {
      const req = JSON.parse(new TextDecoder().decode(data)) as {
        types?: unknown;
        unsubscribe?: unknown;
      };
      const types = req.types;
      if (
        !Array.isArray(types) || types.length === 0 ||
        types.some((t) => typeof t !== "string" || t === "" || t.length > 256)
      ) {
        throw new BrokerError(
          'Malformed subscription: "types" must be a non-empty list of message type names',
        );
      }
      stored = hub.subscribe(client, types as string[], req.unsubscribe === true);
    } catch (err) {
      answer({ ok: false, error: (err as Error).message });
      return;
    }
    this.#waits.push(stored.then(
      () => {
        this.#log.info("subscriptions changed", { peer: client, types: hub.typesOf(client) });
        answer({ ok: true, types: hub.typesOf(client) });
      },
      (err) => {
        answer({ ok: false, error: `Cannot store the subscription: ${err.message}` });
        this.#refuse(n, h, err);
      },
    ));
  }

  #onFileChunk(n: number, h: MsgHeader, frame: Frame, from: string): void {
    const file = h.file!;
    const inbound = this.#ctx.inbound;
    const res = inbound.files.chunk(h.type, from, file, frame.binary);
    if (!res) return;
    if (!res.ok) this.#log.warn("file refused", { from, type: h.type, error: res.error });
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
      if (r !== true) this.#waits.push(r.catch((err) => this.#refuse(n, h, err)));
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

  /**
   * After each chunk read: acknowledges at once when a sender waits for it
   * (a message asked for an acknowledgement, or many are unacknowledged);
   * otherwise within {@linkcode LAZY_ACK_MS}, with whatever arrives meanwhile.
   */
  #chunkDone(): void {
    if (this.#recv === this.#acked) return;
    if (this.#ackWanted || this.#waits.length > 0 || this.#recv - this.#acked >= LAZY_ACK_MAX) {
      this.flushAcks();
    } else {
      this.#lazyAck ??= setTimeout(() => this.flushAcks(), LAZY_ACK_MS);
    }
  }

  /**
   * Acknowledges what the link received so far once it is durable (queued
   * messages on disk, received ids on disk); refusals go first.
   */
  flushAcks(): void {
    clearTimeout(this.#lazyAck);
    this.#lazyAck = undefined;
    this.#ackWanted = false;
    const peer = this.peer;
    if (!peer || this.#recv === this.#acked) return;
    const n = this.#recv;
    this.#acked = n;
    const waits = this.#waits;
    this.#waits = [];
    const ids = this.#ctx.inbound.seenOf(peer.name)?.commit().catch((err) =>
      this.#log.warn("cannot store received ids (repeats after a crash may be delivered twice)", {
        peer: peer.name,
        error: (err as Error).message,
      })
    );
    this.ackChain = this.ackChain
      .then(() => Promise.all([...waits, ids]))
      .then(() => void this.link.send({ kind: "acks", n }));
  }
}

/** The received-id key of a message: a relayed one's id is unique only per original sender. */
function seenKey(h: MsgHeader, relayed: boolean): string {
  return relayed ? `${h.src}\n${h.id}` : h.id;
}
