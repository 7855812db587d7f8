/**
 * Several server connectors as one broker over NATS JetStream: who is
 * connected where, each client's messages (forwarded and away backlog), the
 * server connectors' per-type queues and publications, shared through one nats-server or a NATS cluster.
 *
 * @module
 */
export { ClusterNode, type ClusterNodeOptions } from "./node.ts";
export { ClientTakenError, type ClusterPeer, ClusterPresence } from "./presence.ts";
export { Claims } from "./claims.ts";
export {
  ClusterQueues,
  type MailboxDelivery,
  type MailboxReader,
  type MailboxReadOptions,
  type QueueStream,
} from "./queues.ts";
export { type ClusterPublication, ClusterPubSub } from "./pubsub.ts";
export { CLUSTER_NAME_RE, clusterNames, token, untoken } from "./names.ts";
