/**
 * The broker: persistent, two-way messaging between a server connector and
 * named client connectors over mutual TLS. Frames are length-prefixed
 * (header JSON, data, binary part); each peer has an outbound journal on
 * disk while it is away; message types nobody listens to queue on disk;
 * files travel in checksummed chunks. Apps use the in-process
 * {@linkcode Connector} or, from other processes, the local API socket
 * through {@linkcode BrokerClient} (protocol: `docs/broker-protocol.md`).
 *
 * Shape, from the wire up: `frame.ts` (frames), `header_encoder.ts` /
 * `header_decoder.ts` (a link's headers), `writer.ts` (coalesced writes),
 * `link.ts` (one framed stream: heartbeats on a `clock.ts` clock);
 * `link_session.ts` (one connection between connectors: hello checks,
 * acknowledgement window, subscriptions); `peer.ts` and `_peer_table.ts`
 * (each peer's journal on core/storage's record log); `router.ts` (where a
 * message goes); `type_queues.ts` (types nobody listens to); `_parts.ts`
 * wires them under the {@linkcode Connector} face, `admin.ts` is the
 * operator's side, `local_api.ts` the socket for other processes and
 * `cluster/` several servers as one broker over NATS JetStream.
 *
 * @module
 */
export * from "./api.ts";
export * from "./errors.ts";
export * from "./frame.ts";
export { StorageFullError } from "../storage/mod.ts";
export * from "./connector.ts";
export * from "./client.ts";
export { PubSubRule, type PubSubRuleSpec } from "./pubsub.ts";
export { DEFAULT_MAX_TRANSFER_BYTES, FILE_CHUNK_BYTES, ON_EXISTS, type OnExists } from "./files.ts";
export * from "./service.ts";
export { type AioRole, loadAioconnectorsConfig } from "./aio_config.ts";
export { parseFilterEntry } from "./client_filter.ts";
export { startChat } from "./chat.ts";
