/**
 * Turns one request message (header + payload, no terminator) into one reply
 * message: header checks, decryption, the handler, encryption and the
 * datagram size limit. Transport-free, so TCP and UDP share it.
 */
import { LogBudget, type Logger, nullLogger } from "../log/mod.ts";
import { DecryptError, type KeyPair, openQuery, sealReply } from "./crypto.ts";
import type { HandlerResult } from "./handler_messages.ts";
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

/**
 * What a reply is: the handler's `answer`, an `error` reply to a well-formed
 * request (handler failure, reply too large, unsupported scheme), or the
 * reply to an `unreadable` request (malformed header, undecryptable payload),
 * which the UDP server does not send.
 */
export type ReplyKind = "answer" | "error" | "unreadable";

/** The largest UDP payload over IPv4 (65535 − 8 UDP − 20 IP header bytes). */
export const MAX_DATAGRAM_BYTES = 65507;

/** Options for {@linkcode Answerer}. */
export interface AnswererOptions {
  /**
   * Runs the handler and calls `done` with its result (a
   * {@linkcode HandlerPool}'s `submit`): a callback, not a promise, so that
   * a plain query costs no promise on its way.
   */
  submit: (
    representation: RepresentationByte,
    payload: string,
    done: (result: HandlerResult) => void,
  ) => void;
  /** Counts each request by transport (the metrics). Default: none. */
  onRequest?: (transport: Transport) => void;
  /** The server's key pair; without it encrypted queries get an error reply. Default: none. */
  key?: KeyPair;
  /** Called before each query is answered (the data store's stat check). Default: none. */
  beforeQuery?: () => void;
  /** Largest UDP reply, bytes including the header. Default {@linkcode MAX_DATAGRAM_BYTES}. */
  maxDatagramBytes?: number;
  /**
   * Logs a query whose handler threw or timed out, at warn with the peer: 10
   * lines per 10 s at most (any peer can send such queries at will), the next
   * one with `not_logged`, the count of those left out (or, when none
   * follows, this line with only `not_logged` at the end of the window; call
   * {@linkcode Answerer.close} when done). Default: silent.
   */
  logger?: Logger;
}

const HANDLER_FAILED = "query handler failed";

/** Requests longer than this (bytes) have their header bytes copied out (see `answerTo`). */
const COPY_HEADER_ABOVE = 64 * 1024;

const decoder = new TextDecoder("utf-8", { fatal: true });
const encoder = new TextEncoder();

/**
 * Answers requests. Never throws: every failure becomes an error reply.
 * A reply echoes the request's 4 header bytes, except that a request that
 * cannot be read as its header says (malformed or unsupported header, no
 * server key, failed decryption) gets a plain error reply (`p`).
 */
export class Answerer {
  readonly #o: AnswererOptions;
  readonly #maxDatagram: number;
  readonly #failures: LogBudget;

  constructor(options: AnswererOptions) {
    this.#o = options;
    this.#maxDatagram = options.maxDatagramBytes ?? MAX_DATAGRAM_BYTES;
    const log = options.logger;
    this.#failures = new LogBudget(
      log ? { onSummary: (n) => log.warn(HANDLER_FAILED, { not_logged: n }) } : {},
    );
  }

  /** Tells the failures still left out of the log and clears the budget's timer. Idempotent. */
  close(): void {
    this.#failures.close();
  }

  /** Whether encrypted queries are accepted. */
  get encryption(): boolean {
    return this.#o.key !== undefined;
  }

  /** Answers one request message from `peer` (an address label for the log). */
  answer(message: Uint8Array, transport: Transport, peer = "unknown"): Promise<Uint8Array> {
    return new Promise((resolve) => this.answerTo(message, transport, peer, (r) => resolve(r)));
  }

  /**
   * Answers one request message and calls `reply` with the reply (never with
   * an exception). A plain query is answered without a promise: header,
   * handler callback, reply; an encrypted one goes through WebCrypto.
   * `peer` is an address label for the log, or a function making one.
   * `kind` says what the reply is (see {@linkcode ReplyKind}).
   */
  answerTo(
    message: Uint8Array,
    transport: Transport,
    peer: string | (() => string),
    reply: (bytes: Uint8Array, kind: ReplyKind) => void,
  ): void {
    this.#o.onRequest?.(transport);
    let header: Header;
    try {
      header = decodeHeader(message);
    } catch (err) {
      if (err instanceof WireError) {
        return reply(
          plainError(err.replyHeader, err.message),
          err.malformed ? "unreadable" : "error",
        );
      }
      return reply(plainError(TEXT_REPLY, `Cannot read the request: ${String(err)}`), "unreadable");
    }
    // The reply echoes the request's 4 header bytes (a plain "0" stays "0"). From a large request
    // they are copied, so that a waiting query does not keep the whole request's bytes alive
    // beside its text; a small one (a datagram) is not worth a copy per query.
    const headerBytes = message.length > COPY_HEADER_ABOVE
      ? message.slice(0, HEADER_BYTES)
      : message.subarray(0, HEADER_BYTES);
    const body = message.subarray(HEADER_BYTES);
    if (header.encryption === Encryption.encrypted) {
      this.#answerEncrypted(header, headerBytes, body, transport, peer)
        .then(
          ([bytes, kind]) => reply(bytes, kind),
          (err) => reply(plainError(header, `The server failed: ${String(err)}`), "error"),
        );
      return;
    }
    this.#run(header, body, transport, peer, (r) => {
      const [bytes, kind] = this.#sealPlain(headerBytes, header, r, transport);
      reply(bytes, kind);
    });
  }

  /** Decodes the query text and runs the handler; `done` gets the result. */
  #run(
    header: Header,
    body: Uint8Array,
    transport: Transport,
    peer: string | (() => string),
    done: (r: HandlerResult) => void,
  ): void {
    let text: string;
    try {
      text = decoder.decode(body);
      this.#o.beforeQuery?.();
    } catch {
      return done({ ok: false, error: "Malformed query: the payload is not valid UTF-8" });
    }
    this.#o.submit(header.representation, text, (result) => {
      const skipped = result.ok ? undefined : this.#failures.take();
      if (!result.ok && skipped !== undefined) {
        (this.#o.logger ?? nullLogger).warn(HANDLER_FAILED, {
          peer: typeof peer === "string" ? peer : peer(),
          transport,
          error: result.error,
          ...(skipped > 0 ? { not_logged: skipped } : {}),
        });
      }
      done(result);
    });
  }

  #sealPlain(
    headerBytes: Uint8Array,
    header: Header,
    r: HandlerResult,
    transport: Transport,
  ): [Uint8Array, ReplyKind] {
    const reply = withHeader(headerBytes, payloadOf(header, r));
    if (transport === "udp" && reply.length > this.#maxDatagram) {
      return [withHeader(headerBytes, payloadOf(header, this.#tooLarge(reply.length))), "error"];
    }
    return [reply, r.ok ? "answer" : "error"];
  }

  #tooLarge(bytes: number): HandlerResult {
    return {
      ok: false,
      error:
        `Reply too large for a UDP datagram: ${bytes} bytes exceeds the ${this.#maxDatagram} byte limit (ask over TCP instead)`,
    };
  }

  async #answerEncrypted(
    header: Header,
    headerBytes: Uint8Array,
    sealed: Uint8Array,
    transport: Transport,
    peer: string | (() => string),
  ): Promise<[Uint8Array, ReplyKind]> {
    const plainHeader: Header = {
      encryption: Encryption.plain,
      representation: header.representation,
    };
    if (!this.#o.key) {
      return [
        plainError(
          plainHeader,
          'Encryption "E" is not enabled on this server (start it with --key, or send plain "p")',
        ),
        "error",
      ];
    }
    let body: Uint8Array;
    let key: CryptoKey;
    try {
      const opened = await openQuery(this.#o.key, headerBytes, sealed);
      body = opened.plaintext;
      key = opened.key;
    } catch (err) {
      if (err instanceof DecryptError) return [plainError(plainHeader, err.message), "unreadable"];
      throw err;
    }
    const result = await new Promise<HandlerResult>((r) =>
      this.#run(header, body, transport, peer, r)
    );
    const reply = await this.#seal(header, key, result);
    if (transport === "udp" && reply.length > this.#maxDatagram) {
      return [await this.#seal(header, key, this.#tooLarge(reply.length)), "error"];
    }
    return [reply, result.ok ? "answer" : "error"];
  }

  async #seal(header: Header, key: CryptoKey, r: HandlerResult): Promise<Uint8Array> {
    return encodeMessage(
      header,
      await sealReply(key, encodeHeader(header), payloadOf(header, r)),
    );
  }
}

const TEXT_REPLY: Header = { encryption: Encryption.plain, representation: "t" };

function payloadOf(header: Header, r: HandlerResult): Uint8Array {
  return r.ok ? encoder.encode(r.text) : errorPayload(header.representation, r.error);
}

function withHeader(headerBytes: Uint8Array, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(HEADER_BYTES + payload.length);
  out.set(headerBytes, 0);
  out.set(payload, HEADER_BYTES);
  return out;
}

function plainError(header: Header, message: string): Uint8Array {
  return encodeMessage(header, errorPayload(header.representation, message));
}
