import type { PeerState } from "./peer.ts";
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
