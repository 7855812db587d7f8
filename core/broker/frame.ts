/**
 * Broker frames. On the wire each frame is a 4-byte big-endian length (see
 * `encodeFrame` in `core/net/framing`) followed by the payload:
 *
 * ```
 * u32 BE header length H | H bytes UTF-8 JSON header | u32 BE data length D | D bytes data | binary part (rest)
 * ```
 *
 * The header is a JSON object discriminated by `kind`; `docs/broker-protocol.md`
 * documents every kind.
 */
import { ProtocolError } from "../net/mod.ts";

/** How `data` bytes are to be read. */
export type DataEncoding = "json" | "text";

/** File metadata carried on file chunk frames. */
export interface FileMeta {
  /** Transfer id (shared by every chunk of one file or directory). */
  transfer: string;
  /** Name of the file or directory as sent (base name). */
  name: string;
  /** For directory transfers: the path of this file inside the directory (`/`-separated). */
  path?: string;
  /** Whether the transfer is a directory. */
  dir?: boolean;
  /** Byte offset of this chunk in its file. */
  offset: number;
  /** Total size of this file in bytes. */
  size: number;
  /** Set on the last chunk of a file: SHA-256 of the whole file, lowercase hex. */
  sha256?: string;
  /** Set on the last frame of the whole transfer. */
  end?: boolean;
}

/** An application message (both on the link and on the local socket). */
export interface MsgHeader {
  kind: "msg";
  /** Message type; listeners register for types. */
  type: string;
  /** Sending connector's name (set by the connector). */
  src: string;
  /** Destination connector's name. */
  dst: string;
  /** Message id, unique per sender; receivers drop duplicates. */
  id: string;
  /** Id of the request this message answers. */
  replyTo?: string;
  /** Ask for an acknowledgement once the peer connector has durably queued the message. */
  ack?: boolean;
  /** Marks a request: the sender waits this many ms for a message with `replyTo` = `id`. */
  timeout?: number;
  /** Encoding of `data` (absent: no data). */
  enc?: DataEncoding;
  /** File chunk metadata. */
  file?: FileMeta;
  /** Free-form label passed through end to end; listeners may filter on it. */
  tag?: string;
  /** Client → server: publish to every client subscribed to `type` (no `dst`). */
  pub?: boolean;
  /** Client → server: forward to client `dst` through the server. */
  relay?: boolean;
  /** Server → client: relayed from client `src`, whose certificate the server checked. */
  fwd?: boolean;
  /**
   * Connector → app: this message may have been handed to an app before
   * (one that went away or stopped listening without confirming it). Set
   * only by the connector that delivers it; absent on a first delivery.
   */
  redelivered?: true;
}

/** Every header kind. */
export type Header =
  | MsgHeader
  | { kind: "hello"; name: string; v: number }
  | { kind: "welcome"; name: string; v: number }
  | { kind: "acks"; n: number }
  | { kind: "refused"; n: number; id: string; message: string }
  | { kind: "delivered"; n: number }
  | { kind: "ping"; id: string; t: number }
  | { kind: "pong"; id: string; t: number }
  | { kind: "error"; message: string; replyTo?: string; fatal?: boolean }
  | { kind: "result"; replyTo: string; ok: boolean; error?: string; value?: unknown }
  | { kind: "listen"; id?: string; types: string[]; confirm?: boolean; tag?: string }
  | { kind: "unlisten"; id?: string; types: string[]; tag?: string }
  | { kind: "subscribe"; id: string; types: string[]; unsubscribe?: boolean }
  | { kind: "sync"; id: string }
  | {
    kind: "sendFile";
    id: string;
    path: string;
    type: string;
    dst: string;
    /** Store under this name at the receiver. */
    name?: string;
    /** Remove the source once the receiver stored it. */
    delete?: boolean;
  }
  | { kind: "admin"; id: string; op: string; args?: Record<string, unknown> };

/** A decoded frame. */
export interface Frame {
  header: Header;
  /** Data bytes (empty when none). */
  data: Uint8Array;
  /** Binary part (empty when none). */
  binary: Uint8Array;
}

const enc = new TextEncoder();
const dec = new TextDecoder();
const EMPTY: Uint8Array = new Uint8Array(0);

/** Data ready to frame: bytes, or a string still to be UTF-8 encoded (saves a copy). */
export type DataBytes = Uint8Array | string;

/**
 * Like {@linkcode encodeData} but leaves text and JSON as a string; the
 * frame writer encodes it straight into its output block.
 */
export function prepareData(data: unknown): { data: DataBytes; enc?: DataEncoding } {
  if (data === undefined) return { data: EMPTY };
  if (typeof data === "string") return { data, enc: "text" };
  if (data instanceof Uint8Array) {
    throw new TypeError("Message data must be JSON or text; put bytes in the binary part");
  }
  return { data: JSON.stringify(data), enc: "json" };
}

/** Encodes `data` for a frame: strings as text, anything else (except undefined) as JSON. */
export function encodeData(data: unknown): { bytes: Uint8Array; enc?: DataEncoding } {
  const p = prepareData(data);
  return p.enc ? { bytes: dataBytes(p.data), enc: p.enc } : { bytes: dataBytes(p.data) };
}

/** The UTF-8 bytes of prepared data. */
export function dataBytes(d: DataBytes): Uint8Array {
  return typeof d === "string" ? enc.encode(d) : d;
}

/** Decodes frame data according to the header's `enc`. */
export function decodeData(bytes: Uint8Array, encoding: DataEncoding | undefined): unknown {
  if (encoding === undefined || (bytes.length === 0 && encoding !== "text")) return undefined;
  const s = dec.decode(bytes);
  if (encoding === "text") return s;
  try {
    return JSON.parse(s);
  } catch (err) {
    throw new ProtocolError(`Malformed JSON data in frame: ${(err as Error).message}`);
  }
}

/** Encodes a whole frame payload (without the outer length prefix). */
export function encodePayload(
  header: Header,
  d: DataBytes = EMPTY,
  binary: Uint8Array = EMPTY,
): Uint8Array {
  const data = dataBytes(d);
  const h = enc.encode(JSON.stringify(header));
  const out = new Uint8Array(8 + h.length + data.length + binary.length);
  const v = new DataView(out.buffer);
  v.setUint32(0, h.length);
  out.set(h, 4);
  v.setUint32(4 + h.length, data.length);
  out.set(data, 8 + h.length);
  out.set(binary, 8 + h.length + data.length);
  return out;
}

/** Turns header bytes into a header (see {@linkcode parseHeader}; `HeaderDecoder` keeps a cache). */
export interface HeaderParser {
  decode(bytes: Uint8Array): Header;
}

/**
 * Decodes a frame payload, its header through `headers` when given (a
 * link's `HeaderDecoder`). `data` and `binary` are views into `payload`
 * (copy them to keep them beyond the framer callback). Throws
 * `ProtocolError` for a malformed payload.
 */
export function decodePayload(payload: Uint8Array, headers?: HeaderParser): Frame {
  if (payload.length < 8) {
    throw new ProtocolError(`Malformed frame: ${payload.length} bytes is shorter than 8`);
  }
  const hl = u32(payload, 0);
  if (8 + hl > payload.length) {
    throw new ProtocolError(`Malformed frame: header length ${hl} exceeds the frame`);
  }
  const dl = u32(payload, 4 + hl);
  if (8 + hl + dl > payload.length) {
    throw new ProtocolError(`Malformed frame: data length ${dl} exceeds the frame`);
  }
  const bytes = payload.subarray(4, 4 + hl);
  return {
    header: headers ? headers.decode(bytes) : parseHeader(bytes),
    data: payload.subarray(8 + hl, 8 + hl + dl),
    binary: 8 + hl + dl === payload.length ? EMPTY : payload.subarray(8 + hl + dl),
  };
}

/** Parses header bytes (UTF-8 JSON). Throws `ProtocolError` unless they are an object with a `kind` string. */
export function parseHeader(bytes: Uint8Array): Header {
  let header: Header;
  try {
    header = JSON.parse(dec.decode(bytes));
  } catch (err) {
    throw new ProtocolError(`Malformed frame header JSON: ${(err as Error).message}`);
  }
  if (typeof header !== "object" || header === null || typeof header.kind !== "string") {
    throw new ProtocolError('Malformed frame header: expected an object with a "kind" string');
  }
  return header;
}

/** Reads a big-endian u32. */
function u32(b: Uint8Array, i: number): number {
  return ((b[i]! << 24) >>> 0) + (b[i + 1]! << 16) + (b[i + 2]! << 8) + b[i + 3]!;
}

/**
 * A message frame marked `redelivered` (its header and payload): one that may
 * have been handed to an app before. One marked already is returned as it is.
 */
export function redelivered(f: Frame, payload: Uint8Array): { f: Frame; payload: Uint8Array } {
  const h = f.header as MsgHeader;
  if (h.redelivered) return { f, payload };
  const header: MsgHeader = { ...h, redelivered: true };
  return { f: { ...f, header }, payload: encodePayload(header, f.data, f.binary) };
}
