/**
 * Turns one request message (header + payload, no terminator) into one reply
 * message: header checks, decryption, the handler, encryption and the
 * datagram size limit. Transport-free, so TCP and UDP share it.
 */
import { type Logger, nullLogger } from "../log/mod.ts";
import { DecryptError, type KeyPair, openQuery, sealReply } from "./crypto.ts";
import type { HandlerResult } from "./handler_pool.ts";
import {
  decodeHeader,
  encodeHeader,
  encodeMessage,
  Encryption,
  errorPayload,
  type Header,
  HEADER_BYTES,
  type RepresentationByte,
  WireError,
} from "./wire.ts";

/** Where a request came from; UDP replies must fit one datagram. */
export type Transport = "tcp" | "udp";

/** The largest UDP payload over IPv4 (65535 − 8 UDP − 20 IP header bytes). */
export const MAX_DATAGRAM_BYTES = 65507;

/** Options for {@linkcode Answerer}. */
export interface AnswererOptions {
  /** Runs the handler (a {@linkcode HandlerPool}'s `run`). */
  run: (representation: RepresentationByte, payload: string) => Promise<HandlerResult>;
  /** The server's key pair; without it encrypted queries get an error reply. Default: none. */
  key?: KeyPair;
  /** Called before each query is answered (the data store's stat check). Default: none. */
  beforeQuery?: () => void;
  /** Largest UDP reply, bytes including the header. Default {@linkcode MAX_DATAGRAM_BYTES}. */
  maxDatagramBytes?: number;
  /** Logs a query whose handler threw or timed out, at warn with the peer. Default: silent. */
  logger?: Logger;
}

const decoder = new TextDecoder("utf-8", { fatal: true });
const encoder = new TextEncoder();

/**
 * Answers requests. Never throws: every failure becomes an error reply.
 * An error reply echoes the request's header, except that a request that
 * cannot be read as its header says (malformed or unsupported header, no
 * server key, failed decryption) gets a plain error reply (`p`).
 */
export class Answerer {
  readonly #o: AnswererOptions;
  readonly #maxDatagram: number;

  constructor(options: AnswererOptions) {
    this.#o = options;
    this.#maxDatagram = options.maxDatagramBytes ?? MAX_DATAGRAM_BYTES;
  }

  /** Whether encrypted queries are accepted. */
  get encryption(): boolean {
    return this.#o.key !== undefined;
  }

  /** Answers one request message from `peer` (an address label for the log). */
  async answer(message: Uint8Array, transport: Transport, peer = "unknown"): Promise<Uint8Array> {
    let header: Header;
    try {
      header = decodeHeader(message);
    } catch (err) {
      if (err instanceof WireError) return plainError(err.replyHeader, err.message);
      throw err;
    }
    const headerBytes = message.subarray(0, HEADER_BYTES);
    let body = message.subarray(HEADER_BYTES);
    let key: CryptoKey | undefined;
    const plainHeader: Header = {
      encryption: Encryption.plain,
      representation: header.representation,
    };
    if (header.encryption === Encryption.encrypted) {
      if (!this.#o.key) {
        return plainError(
          plainHeader,
          'Encryption "E" is not enabled on this server (start it with --key, or send plain "p")',
        );
      }
      try {
        const opened = await openQuery(this.#o.key, headerBytes, body);
        body = opened.plaintext;
        key = opened.key;
      } catch (err) {
        if (err instanceof DecryptError) return plainError(plainHeader, err.message);
        throw err;
      }
    }
    let text: string;
    let result: HandlerResult;
    try {
      text = decoder.decode(body);
      this.#o.beforeQuery?.();
    } catch {
      result = { ok: false, error: "Malformed query: the payload is not valid UTF-8" };
      return await this.#seal(header, key, result);
    }
    result = await this.#o.run(header.representation, text);
    if (!result.ok) {
      (this.#o.logger ?? nullLogger).warn("query handler failed", {
        peer,
        transport,
        error: result.error,
      });
    }
    let reply = await this.#seal(header, key, result);
    if (transport === "udp" && reply.length > this.#maxDatagram) {
      reply = await this.#seal(header, key, {
        ok: false,
        error:
          `Reply too large for a UDP datagram: ${reply.length} bytes exceeds the ${this.#maxDatagram} byte limit (ask over TCP instead)`,
      });
    }
    return reply;
  }

  async #seal(header: Header, key: CryptoKey | undefined, r: HandlerResult): Promise<Uint8Array> {
    const payload = r.ok ? encoder.encode(r.text) : errorPayload(header.representation, r.error);
    if (!key) return encodeMessage(header, payload);
    const hb = encodeHeader(header);
    return encodeMessage(header, await sealReply(key, hb, payload));
  }
}

function plainError(header: Header, message: string): Uint8Array {
  return encodeMessage(header, errorPayload(header.representation, message));
}
