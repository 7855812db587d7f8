import type { Server } from "../net/mod.ts";
import type { Readiness } from "../metrics/mod.ts";
import type { Logger, LogLevel } from "../log/mod.ts";
import type { ClientFilter, FilterList, FilterLists } from "./client_filter.ts";
import type { TypeQueues } from "./type_queues.ts";
import { BrokerError } from "./errors.ts";
import type { ConnectorOptions } from "./options.ts";
import type { PeerTable } from "./_peer_table.ts";
import { type AdminTarget, peerRows, queueReport, trafficSummary } from "./_admin.ts";
import { type ClusterBridge, clusterPeerRows, type ClusterWaiting } from "./cluster/bridge.ts";

/** What {@linkcode ConnectorAdmin} operates on: the parts of one connector. */
export interface ConnectorAdminOptions {
  name: string;
  dir: string;
  socketPath: string;
  startedAt: Date;
  connector: ConnectorOptions;
  log: Logger;
  peers: PeerTable;
  queues: TypeQueues;
  clientFilter: ClientFilter | undefined;
  /** A clustered server's bridge: `peers` lists the whole cluster. */
  cluster?: ClusterBridge | undefined;
  /** The TLS listener (server connector, once listening). */
  server(): Server | undefined;
  /** Ends a client connector's reconnect wait now. */
  wake(): void;
  /** Resolves once journals and queues are on disk. */
  sync(): Promise<void>;
}

/**
 * The operator's side of a connector (`broker status`, `peers`, `queues`,
 * `ping`, `block`, `filter`, `log-level`, `disconnect`, `revoke`, `reload`,
 * readiness): what the local API's admin ops and the daemon's health
 * endpoint call, apart from the messaging face of {@linkcode Connector}.
 */
export class ConnectorAdmin implements AdminTarget {
  readonly #o: ConnectorAdminOptions;

  constructor(opts: ConnectorAdminOptions) {
    this.#o = opts;
  }

  /** The allow/deny lists a server connector checks clients against (`undefined` on a client). */
  get clientFilter(): ClientFilter | undefined {
    return this.#o.clientFilter;
  }

  /** The TLS listener of a server connector (for reloading its certificates). */
  get listener(): Server | undefined {
    return this.#o.server();
  }

  #isServer(): boolean {
    return this.#o.connector.server !== undefined;
  }

  /** Resolves once every queued journal and queue append is on disk. */
  sync(): Promise<void> {
    return this.#o.sync();
  }

  /** Connected and known peers. */
  peers(): Array<Record<string, unknown>> {
    const client = this.#o.connector.client;
    const rows = peerRows(
      this.#o.peers.all(),
      client ? `${client.host}:${client.port}` : undefined,
    );
    return this.#o.cluster ? clusterPeerRows(rows, this.#o.cluster) : rows;
  }

  /**
   * A clustered server: what waits in JetStream per client mailbox and per
   * type queue (`{ error }` when NATS does not answer); `undefined` otherwise.
   */
  async clusterQueues(): Promise<ClusterWaiting | { error: string } | undefined> {
    return await this.#o.cluster?.waiting().catch((err) => ({
      error: `Cannot read what waits in the cluster: ${(err as Error).message}`,
    }));
  }

  /** Journal sizes per peer and queue sizes per type. */
  queueSizes(): {
    journals: Array<Record<string, unknown>>;
    types: Array<Record<string, unknown>>;
  } {
    return queueReport(this.#o.peers.all(), this.#o.queues);
  }

  /** Round trip to a connected peer, ms. */
  ping(name: string, timeoutMs = 5000): Promise<number> {
    const p = this.#o.peers.find(name);
    if (!p?.link?.open) return Promise.reject(new BrokerError(`Peer "${name}" is not connected`));
    return p.link.ping(timeoutMs);
  }

  /** Stops a peer's traffic both ways (its messages stay queued) until `unblock`. */
  block(name: string): void {
    const p = this.#o.peers.route(name);
    p.blocked = true;
    p.link?.close("blocked");
  }

  /** Lets a blocked peer's traffic flow again. */
  unblock(name: string): void {
    const p = this.#o.peers.route(name);
    p.blocked = false;
    this.#o.wake();
  }

  /**
   * Shows the client filter, or adds/removes an entry and applies the new
   * lists to connected clients at once (those now refused are disconnected).
   */
  filter(
    action: "show" | "add" | "remove",
    list?: FilterList,
    entry?: string,
  ): FilterLists & { changed?: boolean; disconnected?: string[] } {
    const f = this.#o.clientFilter;
    if (!f) throw new BrokerError("Only a server connector has a client filter");
    if (action === "show") return f.lists();
    if (list !== "allow" && list !== "deny") {
      throw new TypeError(`Unknown filter list "${String(list)}": expected allow or deny`);
    }
    if (typeof entry !== "string") throw new TypeError(`Admin "filter ${action}" needs an entry`);
    const changed = action === "add" ? f.add(list, entry) : f.remove(list, entry);
    const disconnected: string[] = [];
    for (const p of this.#o.peers.all()) {
      if (!p.link?.open) continue;
      const ip = (p.address ?? "").replace(/:\d+$/, "");
      const why = f.check(p.name, ip);
      if (why === undefined) continue;
      p.link.send({ kind: "error", message: `refused by the server's client filter: ${why}` });
      p.link.close("refused by the client filter");
      this.#o.log.warn("disconnected client refused by the changed filter", {
        peer: p.name,
        reason: why,
      });
      disconnected.push(p.name);
    }
    return { ...f.lists(), changed, disconnected };
  }

  /** The log level of this connector's logger. */
  get logLevel(): LogLevel {
    return this.#o.log.level;
  }

  /** Changes the log level at run time (`broker log-level`). */
  setLogLevel(level: LogLevel): void {
    this.#o.log.setLevel(level);
    this.#o.log.info("log level changed", { level });
  }

  /** Closes a peer's link now without revoking it (`broker disconnect`, and after revocation). */
  disconnect(name: string): boolean {
    const p = this.#o.peers.find(name);
    if (!p?.link?.open) return false;
    p.link.close("disconnected by the operator");
    return true;
  }

  /** Revokes a client's certificate (server only, through the `revoke` option) and disconnects it. */
  async revoke(name: string): Promise<boolean> {
    const revoke = this.#o.connector.revoke;
    if (!revoke) {
      throw new BrokerError("This connector cannot revoke certificates (not a server)");
    }
    await revoke(name);
    return this.disconnect(name);
  }

  /** Reloads certificates and allow-list (local API `reload`, SIGHUP); throws when unusable. */
  reload(): Promise<Record<string, unknown>> {
    const reload = this.#o.connector.reload;
    if (!reload) {
      return Promise.reject(
        new BrokerError("This connector has nothing to reload (only a server connector reloads)"),
      );
    }
    return reload();
  }

  /** Server: ready while listening. Client: ready while its link to the server is up. */
  ready(): Readiness {
    const up = this.#o.peers.all().filter((p) => p.link?.open).map((p) => p.name);
    if (this.#isServer()) {
      return { ready: true, detail: `listening, links up: ${up.join(",") || "none"}` };
    }
    return up.length > 0
      ? { ready: true, detail: `link to ${up.join(",")} up` }
      : { ready: false, detail: "link to the server connector down (reconnecting)" };
  }

  /** A summary for `broker status`. */
  status(): Record<string, unknown> {
    return {
      name: this.#o.name,
      role: this.#isServer() ? "server" : "client",
      port: this.#o.server()?.port ?? 0,
      socket: this.#o.socketPath,
      dir: this.#o.dir,
      startedAt: this.#o.startedAt.toISOString(),
      ...trafficSummary(this.#o.peers.all(), this.#o.queues),
    };
  }
}
