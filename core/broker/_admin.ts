import { LOG_LEVELS, type LogLevel } from "../log/mod.ts";
import type { PeerState } from "./peer.ts";
import type { FilterList } from "./client_filter.ts";
import type { TypeQueues } from "./type_queues.ts";

/** Rows of `broker peers`: connected and known peers. */
export function peerRows(
  peers: PeerState[],
  serverAddress: string | undefined,
): Array<Record<string, unknown>> {
  return peers.map((p) => ({
    name: p.name,
    connected: p.link?.open === true,
    address: p.link?.open ? (p.address ?? serverAddress ?? "") : "",
    cn: p.cn ?? "",
    since: p.since?.toISOString() ?? "",
    msgsIn: p.stats.msgsIn,
    msgsOut: p.stats.msgsOut,
    blocked: p.blocked,
  }));
}

/** `broker queues`: journal sizes per peer and queue sizes per type. */
export function queueReport(peers: PeerState[], queues: TypeQueues): {
  journals: Array<Record<string, unknown>>;
  types: Array<Record<string, unknown>>;
} {
  return {
    journals: peers.map((p) => ({
      peer: p.name,
      messages: p.journal.count,
      bytes: p.journal.bytes,
      unacked: p.unacked,
    })),
    types: queues.sizes(),
  };
}

/** What `broker status` shows besides the connector's identity. */
export function trafficSummary(
  peers: PeerState[],
  queues: TypeQueues,
): { peers: number; journaled: number; queued: number } {
  return {
    peers: peers.filter((p) => p.link?.open).length,
    journaled: peers.reduce((n, p) => n + p.journal.count, 0),
    queued: queues.sizes().reduce((n, q) => n + q.messages, 0),
  };
}

/** Admin operations the local socket accepts (`{"kind":"admin","op":...}`). */
export const ADMIN_OPS = [
  "status",
  "peers",
  "queues",
  "ping",
  "block",
  "unblock",
  "revoke",
  "disconnect",
  "filter",
  "log-level",
  "reload",
  "stop",
] as const;

/** The connector operations behind the admin ops. */
export interface AdminTarget {
  status(): Record<string, unknown>;
  peers(): Array<Record<string, unknown>>;
  queueSizes(): { journals: Array<Record<string, unknown>>; types: Array<Record<string, unknown>> };
  /** A clustered server's view of what waits in JetStream. */
  clusterQueues?(): Promise<unknown>;
  sync(): Promise<void>;
  ping(name: string): Promise<number>;
  block(name: string): void;
  unblock(name: string): void;
  revoke(name: string): Promise<boolean>;
  /** Shows or changes the server's client filter (see `Connector.filter`). */
  filter(action: "show" | "add" | "remove", list?: FilterList, entry?: string): unknown;
  /** Closes a peer's link without revoking it (a client connector reconnects). */
  disconnect(name: string): boolean;
  /** The connector's log level, changed at run time. */
  readonly logLevel: LogLevel;
  setLogLevel(level: LogLevel): void;
  reload(): Promise<Record<string, unknown>>;
}

/** Runs admin op `op` (`stop` only answers; the caller stops). */
export async function runAdmin(
  c: AdminTarget,
  op: string,
  args: Record<string, unknown>,
): Promise<unknown> {
  const peer = typeof args.peer === "string" ? args.peer : undefined;
  const need = () => {
    if (!peer) throw new TypeError(`Admin "${op}" needs args.peer`);
    return peer;
  };
  switch (op) {
    case "status":
      return c.status();
    case "peers":
      return c.peers();
    case "queues": {
      await c.sync();
      const cluster = await c.clusterQueues?.();
      return cluster === undefined ? c.queueSizes() : { ...c.queueSizes(), cluster };
    }
    case "ping":
      return { peer: need(), ms: await c.ping(need()) };
    case "block":
      c.block(need());
      return { peer, blocked: true };
    case "unblock":
      c.unblock(need());
      return { peer, blocked: false };
    case "revoke":
      return { peer, disconnected: await c.revoke(need()) };
    case "filter": {
      const action = args.action ?? "show";
      if (action !== "show" && action !== "add" && action !== "remove") {
        throw new TypeError(
          `Unknown filter action "${String(action)}": expected show, add or remove`,
        );
      }
      return c.filter(
        action,
        args.list as FilterList | undefined,
        typeof args.entry === "string" ? args.entry : undefined,
      );
    }
    case "disconnect":
      return { peer, disconnected: c.disconnect(need()) };
    case "log-level": {
      const level = args.level;
      if (level === undefined) return { level: c.logLevel };
      if (!LOG_LEVELS.includes(level as LogLevel)) {
        throw new TypeError(
          `Unknown log level "${String(level)}": expected one of ${LOG_LEVELS.join(", ")}`,
        );
      }
      const previous = c.logLevel;
      c.setLogLevel(level as LogLevel);
      return { level, previous };
    }
    case "reload":
      return await c.reload();
    case "stop":
      return { stopping: true };
  }
  throw new TypeError(`Unknown admin op "${op}": expected one of ${ADMIN_OPS.join(", ")}`);
}
