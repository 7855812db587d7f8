/**
 * The query wire format, as bytes in and bytes out (no sockets here).
 *
 * A message is a 4-byte header, then the payload:
 *
 * | byte | meaning        | values                                   |
 * | ---- | -------------- | ---------------------------------------- |
 * | 0    | protocol       | `0`                                      |
 * | 1    | encryption     | `p` or `0` plain, `E` encrypted (`H` refused) |
 * | 2    | representation | `t` UTF-8 text, `j` JSON (`p` refused)   |
 * | 3    | app version    | `0`                                      |
 *
 * Over TCP a request ends with `\n` and a reply at the close, with nothing
 * after the payload (the replaced tool's client reads until the close and
 * keeps every byte); over UDP a message is exactly one datagram, and a `\n`
 * that ends it (the replaced client sends one over UDP too) is its terminator.
 */
import { ProtocolError } from "../net/mod.ts";

/** Encryption byte values. */
export const Encryption = { plain: "p", encrypted: "E" } as const;
/** One of {@linkcode Encryption}'s values. */
export type EncryptionByte = typeof Encryption[keyof typeof Encryption];
/** Representation byte values. */
export const Representation = { text: "t", json: "j" } as const;
/** One of {@linkcode Representation}'s values. */
export type RepresentationByte = typeof Representation[keyof typeof Representation];

/** A valid, supported header. */
export interface Header {
  /** `p` plain or `E` encrypted. */
  encryption: EncryptionByte;
  /** `t` text or `j` JSON. */
  representation: RepresentationByte;
}

/** The length of the header in bytes. */
export const HEADER_BYTES = 4;

const PROTOCOL = 0x30; // "0"
const VERSION = 0x30; // "0"

/** A request that could not be read as its header says; carries the header to reply with. */
export class WireError extends ProtocolError {
  override name = "WireError";
  constructor(
    message: string,
    /** The header of the (plain) error reply. */
    readonly replyHeader: Header,
    /**
     * `true` when the header is not a query header at all (short, or a byte
     * outside the format), `false` for a well-formed header naming a scheme
     * this server does not support (`H`, pickle). Over UDP only the latter is answered.
     */
    readonly malformed = true,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

function show(byte: number | undefined): string {
  if (byte === undefined) return "nothing";
  return byte >= 0x20 && byte < 0x7f
    ? JSON.stringify(String.fromCharCode(byte))
    : `byte 0x${byte.toString(16).padStart(2, "0")}`;
}

/** Encodes a header as its 4 bytes. */
export function encodeHeader(header: Header): Uint8Array {
  return new Uint8Array([
    PROTOCOL,
    header.encryption.charCodeAt(0),
    header.representation.charCodeAt(0),
    VERSION,
  ]);
}

/**
 * Reads the header at the start of `message`. Throws a {@linkcode WireError}
 * for a short or malformed header and for unsupported schemes (encryption
 * `H`, pickle representation `p`), naming the byte and what is accepted.
 */
export function decodeHeader(message: Uint8Array): Header {
  const repr = message[2] === 0x6a ? Representation.json : Representation.text;
  const plainReply: Header = { encryption: Encryption.plain, representation: repr };
  if (message.length < HEADER_BYTES) {
    throw new WireError(
      `Malformed header: expected 4 header bytes ("0", "p" or "E", "t" or "j", "0"), got ${message.length}`,
      plainReply,
    );
  }
  if (message[0] !== PROTOCOL) {
    throw new WireError(
      `Malformed header: protocol byte must be "0", got ${show(message[0])}`,
      plainReply,
    );
  }
  if (message[3] !== VERSION) {
    throw new WireError(
      `Malformed header: application version byte must be "0", got ${show(message[3])}`,
      plainReply,
    );
  }
  const enc = message[1];
  const rep = message[2];
  if (rep === 0x70) {
    throw new WireError(
      'Unsupported representation "p" (pickle): send "t" (text) or "j" (JSON)',
      plainReply,
      false,
    );
  }
  if (rep !== 0x74 && rep !== 0x6a) {
    throw new WireError(
      `Malformed header: representation byte must be "t" or "j", got ${show(rep)}`,
      plainReply,
    );
  }
  if (enc === 0x48) {
    throw new WireError(
      'Unsupported encryption scheme "H": send "p" (plain) or "E" (X25519 + AES-256-GCM)',
      plainReply,
      false,
    );
  }
  // "0" means plain, as in the replaced tool.
  if (enc !== 0x70 && enc !== 0x45 && enc !== 0x30) {
    throw new WireError(
      `Malformed header: encryption byte must be "p" (or "0") or "E", got ${show(enc)}`,
      plainReply,
    );
  }
  return {
    encryption: enc === 0x45 ? Encryption.encrypted : Encryption.plain,
    representation: repr,
  };
}

/**
 * The request without its line end: one trailing `\n`, then one trailing
 * `\r` (netcat and telnet send `\r\n`), are removed. Over TCP the bytes
 * before the first `\n` come here; over UDP the whole datagram, since the
 * replaced tool's client ends every request with `\n`, over UDP too.
 */
export function withoutLineEnd(request: Uint8Array): Uint8Array {
  let end = request.length;
  if (end > 0 && request[end - 1] === 0x0a) end--;
  if (end > 0 && request[end - 1] === 0x0d) end--;
  return end === request.length ? request : request.subarray(0, end);
}

/** Joins a header and a payload into one message (no terminator). */
export function encodeMessage(header: Header, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(HEADER_BYTES + payload.length);
  out.set(encodeHeader(header), 0);
  out.set(payload, HEADER_BYTES);
  return out;
}

const encoder = new TextEncoder();

/**
 * The payload of an error reply: `ERROR: message` for text, and
 * `{"error":"message"}` for JSON.
 */
export function errorPayload(representation: RepresentationByte, message: string): Uint8Array {
  return encoder.encode(
    representation === Representation.json
      ? JSON.stringify({ error: message })
      : `ERROR: ${message}`,
  );
}

/**
 * Reads a reply payload's error message, or `undefined` when it is not an
 * error reply (text starting with `ERROR: `, or a JSON object whose only key
 * is a string `error`).
 */
export function errorOf(representation: RepresentationByte, payload: string): string | undefined {
  if (representation === Representation.text) {
    return payload.startsWith("ERROR: ") ? payload.slice(7) : undefined;
  }
  try {
    const v = JSON.parse(payload) as unknown;
    if (typeof v === "object" && v !== null && !Array.isArray(v)) {
      const keys = Object.keys(v);
      const e = (v as Record<string, unknown>).error;
      if (keys.length === 1 && typeof e === "string") return e;
    }
  } catch {
    // not JSON: not an error reply
  }
  return undefined;
}
