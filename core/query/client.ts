/**
 * The query client: sends one query over TCP (optionally TLS) or UDP, plain
 * or encrypted, and reads the reply.
 */
import { isIP, isIPv6 } from "node:net";
import { lookup } from "node:dns/promises";
import {
  bindDatagram,
  canonicalAddress,
  type ClientTlsOptions,
  connect,
  type Connection,
  looksLikeTlsRecord,
  notTlsServerError,
  ProtocolError,
} from "../net/mod.ts";
import { settlesWithin } from "../async/mod.ts";
import { openReply, type PublicKey, sealQuery } from "./crypto.ts";
import {
  decodeHeader,
  encodeHeader,
  encodeMessage,
  Encryption,
  errorOf,
  type Header,
  HEADER_BYTES,
  type RepresentationByte,
} from "./wire.ts";
import { errorText } from "../log/mod.ts";

/** Options for {@linkcode exchange}. */
export interface ExchangeOptions {
  /** Server host. Default `"127.0.0.1"`. */
  host?: string;
  /** Server port. Default 9000. */
  port?: number;
  /** `"tcp"` or `"udp"`. Default `"tcp"`. */
  transport?: "tcp" | "udp";
  /** TLS settings for TCP. Default: plain TCP. */
  tls?: ClientTlsOptions;
  /** Give up after this many ms. Default 5000. */
  timeoutMs?: number;
  /** Largest reply accepted over TCP, bytes. Default 64 MiB. */
  maxReplyBytes?: number;
}

/** Options for {@linkcode ask}. */
export interface AskOptions extends ExchangeOptions {
  /** `"t"` text or `"j"` JSON. Default `"t"`. */
  representation?: RepresentationByte;
  /** The server's public key: when given, the query is encrypted (`E`). */
  serverKey?: PublicKey;
}

/** A reply. */
export interface AskReply {
  /** The reply's header. */
  header: Header;
  /** The reply payload as text (decrypted). */
  text: string;
  /**
   * The error message when this is an error reply, or when the query was
   * encrypted and the reply is not (unauthenticated: never an answer).
   */
  error?: string;
}

const NL = 0x0a;

async function udpExchange(message: Uint8Array, o: ExchangeOptions): Promise<Uint8Array> {
  const host = o.host ?? "127.0.0.1";
  const port = o.port ?? 9000;
  const timeoutMs = o.timeoutMs ?? 5000;
  // Resolve once: the datagram goes to this address, and only a reply from it
  // (and the port) is taken, so another socket cannot answer in the server's place.
  let address = host;
  if (isIP(host) === 0) {
    try {
      // IPv4 first, as before (the server binds 0.0.0.0 by default), else any family.
      address = (await lookup(host, { family: 4 }).catch(() => lookup(host))).address;
    } catch (err) {
      throw new Error(
        `Cannot query ${host}:${port} over UDP: cannot resolve "${host}" (${errorText(err)})`,
        { cause: err },
      );
    }
  }
  const expected = canonicalAddress(address);
  const reply = Promise.withResolvers<Uint8Array>();
  await using socket = await bindDatagram({
    hostname: isIPv6(address) ? "::" : "0.0.0.0",
    onMessage: (m, from) => {
      if (from.port === port && canonicalAddress(from.hostname) === expected) reply.resolve(m);
    },
    onError: (err) =>
      reply.reject(
        new Error(`Cannot query ${host}:${port} over UDP: ${err.message}`, { cause: err }),
      ),
  });
  socket.send(message, { hostname: address, port });
  if (!await settlesWithin(reply.promise, timeoutMs)) {
    throw new Error(
      `No reply from ${host}:${port} over UDP within ${timeoutMs} ms (is the server running with UDP on that port? ` +
        "datagrams from any other address or port are ignored, and the server sends none for a malformed or undecryptable request)",
    );
  }
  return await reply.promise;
}

async function tcpExchange(message: Uint8Array, o: ExchangeOptions): Promise<Uint8Array> {
  const host = o.host ?? "127.0.0.1";
  const port = o.port ?? 9000;
  const timeoutMs = o.timeoutMs ?? 5000;
  const limit = o.maxReplyBytes ?? 64 * 1024 * 1024;
  let conn: Connection;
  try {
    conn = await connect({
      host,
      port,
      timeoutMs,
      ...(o.tls !== undefined ? { tls: o.tls } : {}),
    });
  } catch (err) {
    throw (o.tls !== undefined && notTlsServerError(err, `${host}:${port}`)) || err;
  }
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    conn.destroy();
  }, timeoutMs);
  try {
    const framed = new Uint8Array(message.length + 1);
    framed.set(message, 0);
    framed[message.length] = NL;
    await conn.write(framed);
    const parts: Uint8Array[] = [];
    let size = 0;
    for await (const chunk of conn.readable()) {
      size += chunk.length;
      if (size > limit) {
        throw new ProtocolError(`Reply too large: more than ${limit} bytes from ${host}:${port}`);
      }
      parts.push(chunk);
    }
    // A reply ends at the server's close: one cut by the time limit is not a reply.
    if (timedOut) {
      throw new ProtocolError(
        size === 0
          ? `No reply from ${host}:${port} over TCP within ${timeoutMs} ms (the connection is open but the server sent nothing: is it a query server, or is its handler slow? raise --timeout)`
          : `The reply from ${host}:${port} over TCP did not end within ${timeoutMs} ms (${size} bytes came, then the server neither sent more nor closed the connection; raise --timeout)`,
      );
    }
    if (size === 0) {
      throw new ProtocolError(
        `The server at ${host}:${port} closed the TCP connection without a reply (its log may say why)`,
      );
    }
    const out = new Uint8Array(size);
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    if (o.tls === undefined && looksLikeTlsRecord(out)) {
      throw new ProtocolError(
        `The server at ${host}:${port} answered with TLS: it expects TLS (add --tls, with --ca)`,
      );
    }
    return out;
  } finally {
    clearTimeout(timer);
    conn.destroy();
  }
}

/**
 * Sends one raw message (header + payload, no terminator) and returns the
 * raw reply (header + payload: over TCP every byte up to the server's close). For clients that
 * build their own messages (and tests of malformed ones).
 */
export function exchange(message: Uint8Array, options: ExchangeOptions = {}): Promise<Uint8Array> {
  return (options.transport ?? "tcp") === "udp"
    ? udpExchange(message, options)
    : tcpExchange(message, options);
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Sends `query` (text, or JSON source text with `representation: "j"`) and
 * returns the reply; `error` is set for an error reply. Throws when the
 * server cannot be reached or the reply cannot be read.
 *
 * @example
 * ```ts
 * const r = await ask("1", { port: 9000, transport: "udp" });
 * if (r.error) console.error(r.error); else console.log(r.text);
 * ```
 */
export async function ask(query: string, options: AskOptions = {}): Promise<AskReply> {
  const header: Header = {
    encryption: options.serverKey ? Encryption.encrypted : Encryption.plain,
    representation: options.representation ?? "t",
  };
  const headerBytes = encodeHeader(header);
  let payload = encoder.encode(query);
  let key: CryptoKey | undefined;
  if (options.serverKey) {
    const sealed = await sealQuery(options.serverKey, headerBytes, payload);
    payload = sealed.payload;
    key = sealed.key;
  }
  const reply = await exchange(encodeMessage(header, payload), options);
  let replyHeader: Header;
  try {
    replyHeader = decodeHeader(reply);
  } catch (err) {
    throw new ProtocolError(
      `Unexpected reply from the server: ${errorText(err)}`,
      { cause: err },
    );
  }
  let body = reply.subarray(HEADER_BYTES);
  if (replyHeader.encryption === Encryption.encrypted) {
    if (!key) throw new ProtocolError("The server sent an encrypted reply to a plain query");
    body = await openReply(key, reply.subarray(0, HEADER_BYTES), body);
  }
  const text = decoder.decode(body);
  if (key && replyHeader.encryption !== Encryption.encrypted) {
    // Anyone can send a plain reply: to an encrypted query it is never the answer. The
    // server's own refusals (wrong key, "E" not enabled) come this way too, so show the text.
    return {
      header: replyHeader,
      text,
      error:
        `The reply to the encrypted query was not encrypted, so it is not authenticated (check --server-key): ` +
        `its unauthenticated text: ${
          JSON.stringify(errorOf(replyHeader.representation, text) ?? text)
        }`,
    };
  }
  const error = errorOf(replyHeader.representation, text);
  return { header: replyHeader, text, ...(error !== undefined ? { error } : {}) };
}
