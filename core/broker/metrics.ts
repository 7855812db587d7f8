import type { DaemonMetrics } from "../metrics/mod.ts";
import type { PeerState } from "./peer.ts";
import type { TypeQueues } from "./type_queues.ts";

/** Most message types given their own `type` label; the rest are summed under `"other"`. */
export const MAX_TYPE_LABELS = 100;

/**
 * Registers the broker series, read from the connector's peers and type
 * queues at each scrape: messages received, sent, acknowledged and journaled
 * per peer; journal backlog per peer; queued messages and bytes per type;
 * link state per peer. Peer names are proven by certificates; message types
 * are chosen by senders, so at most {@linkcode MAX_TYPE_LABELS} get a label.
 */
export function registerBrokerMetrics(
  m: DaemonMetrics,
  peers: () => PeerState[],
  queues: TypeQueues,
): void {
  const perPeer = (read: (p: PeerState) => number) => () =>
    peers().map((p): [{ peer: string }, number] => [{ peer: p.name }, read(p)]);
  m.countersFrom(
    "broker_messages_received_total",
    "Messages received, by peer",
    ["peer"],
    perPeer((p) => p.stats.msgsIn),
  );
  m.countersFrom(
    "broker_messages_sent_total",
    "Messages sent over a link, by peer",
    ["peer"],
    perPeer((p) => p.stats.msgsOut),
  );
  m.countersFrom(
    "broker_messages_acked_total",
    "Messages the peer acknowledged as durably stored, by peer",
    ["peer"],
    perPeer((p) => p.stats.acked),
  );
  m.countersFrom(
    "broker_messages_journaled_total",
    "Messages journaled while the peer was away or blocked, by peer",
    ["peer"],
    perPeer((p) => p.stats.journaled),
  );
  m.gaugesFrom(
    "broker_journal_messages",
    "Messages waiting in the peer's journal",
    ["peer"],
    perPeer((p) => p.journal.count),
  );
  m.gaugesFrom(
    "broker_unacked_messages",
    "Messages sent and not yet acknowledged",
    ["peer"],
    perPeer((p) => p.unacked),
  );
  m.gaugesFrom(
    "broker_link_up",
    "1 while the peer's link is up",
    ["peer"],
    perPeer((p) => p.link?.open ? 1 : 0),
  );
  const byType = (key: "messages" | "bytes") => () => {
    const rows = queues.sizes();
    const out: Array<[{ type: string }, number]> = [];
    let other = 0;
    rows.forEach((r, i) => {
      if (i < MAX_TYPE_LABELS) out.push([{ type: r.type }, r[key]]);
      else other += r[key];
    });
    if (rows.length > MAX_TYPE_LABELS) out.push([{ type: "other" }, other]);
    return out;
  };
  m.gaugesFrom(
    "broker_queued_messages",
    "Messages waiting in a type queue (no listener yet), by type",
    ["type"],
    byType("messages"),
  );
  m.gaugesFrom("broker_queued_bytes", "Bytes in a type queue, by type", ["type"], byType("bytes"));
}
