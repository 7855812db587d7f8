/**
 * The broker: persistent, two-way messaging between a server connector and
 * named client connectors over mutual TLS. Frames are length-prefixed
 * (header JSON, data, binary part); each peer has an outbound journal on
 * disk while it is away; message types nobody listens to queue on disk;
 * files travel in checksummed chunks. Apps use the in-process
 * {@linkcode Connector} or, from other processes, the local API socket
 * through {@linkcode BrokerClient} (protocol: `docs/broker-protocol.md`).
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
export { FILE_CHUNK_BYTES, ON_EXISTS, type OnExists } from "./files.ts";
export * from "./service.ts";
export { type AioRole, loadAioconnectorsConfig } from "./aio_config.ts";
export { parseFilterEntry } from "./client_filter.ts";
export { startChat } from "./chat.ts";
