/**
 * The least of HTTP/1.1 the metrics endpoint needs, over bytes (no socket):
 * finding and parsing a request head within a size bound, and writing a
 * complete response that closes the connection.
 */

/** A parsed request line and its headers (names lower-cased). */
export interface RequestHead {
  method: string;
  /** The path, without the query string. */
  path: string;
  version: string;
  headers: Map<string, string>;
}

/** What {@linkcode findHead} makes of the bytes so far. */
export type HeadScan =
  | { kind: "more" }
  | { kind: "too-large" }
  | { kind: "head"; text: string };

const CR = 13;
const LF = 10;

/**
 * Looks for the end of a request head (an empty line, CRLF or bare LF) in
 * `buf`; past `maxBytes` without one the head is too large (431).
 */
export function findHead(buf: Uint8Array, maxBytes: number): HeadScan {
  const n = Math.min(buf.length, maxBytes);
  for (let i = 0; i < n; i++) {
    if (buf[i] !== LF) continue;
    const end = buf[i + 1] === LF ? i + 2 : buf[i + 1] === CR && buf[i + 2] === LF ? i + 3 : -1;
    if (end !== -1 && end <= maxBytes) {
      return { kind: "head", text: new TextDecoder("latin1").decode(buf.subarray(0, end)) };
    }
  }
  return buf.length >= maxBytes ? { kind: "too-large" } : { kind: "more" };
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** Parses a request head found by {@linkcode findHead}; throws `SyntaxError` when it is not HTTP/1.x. */
export function parseHead(text: string): RequestHead {
  const lines = text.split(/\r?\n/);
  const first = lines[0] ?? "";
  const m = /^(\S+) (\S+) (HTTP\/1\.[01])$/.exec(first);
  if (!m || !TOKEN.test(m[1]!)) {
    throw new SyntaxError(
      `Cannot parse request line: "${first.slice(0, 80)}" (expected "METHOD /path HTTP/1.1")`,
    );
  }
  const headers = new Map<string, string>();
  for (const line of lines.slice(1)) {
    if (line === "") continue;
    const colon = line.indexOf(":");
    const name = colon > 0 ? line.slice(0, colon) : "";
    if (!TOKEN.test(name)) {
      throw new SyntaxError(
        `Cannot parse header line: "${line.slice(0, 80)}" (expected "Name: value")`,
      );
    }
    headers.set(name.toLowerCase(), line.slice(colon + 1).trim());
  }
  let path = m[2]!;
  if (!path.startsWith("/")) {
    // absolute form (a proxy's): keep only the path
    try {
      path = new URL(path).pathname;
    } catch {
      throw new SyntaxError(`Cannot parse request target: "${path.slice(0, 80)}"`);
    }
  }
  const q = path.indexOf("?");
  return { method: m[1]!, path: q === -1 ? path : path.slice(0, q), version: m[3]!, headers };
}

/** A response to write: status, headers (besides length and `connection`), body. */
export interface Reply {
  status: number;
  contentType: string;
  body: string;
  headers?: Record<string, string>;
}

const REASONS: Record<number, string> = {
  200: "OK",
  400: "Bad Request",
  404: "Not Found",
  405: "Method Not Allowed",
  431: "Request Header Fields Too Large",
  503: "Service Unavailable",
};

/**
 * The bytes of `reply` as an HTTP/1.1 response with `Content-Length` and
 * `Connection: close`; for HEAD (`withBody` false) the head only.
 */
export function formatReply(reply: Reply, withBody: boolean): Uint8Array {
  const body = new TextEncoder().encode(reply.body);
  let head = `HTTP/1.1 ${reply.status} ${REASONS[reply.status] ?? "Unknown"}\r\n` +
    `content-type: ${reply.contentType}\r\n` +
    `content-length: ${body.length}\r\n` +
    `connection: close\r\n`;
  for (const [k, v] of Object.entries(reply.headers ?? {})) head += `${k}: ${v}\r\n`;
  head += "\r\n";
  const h = new TextEncoder().encode(head);
  if (!withBody) return h;
  const out = new Uint8Array(h.length + body.length);
  out.set(h);
  out.set(body, h.length);
  return out;
}
