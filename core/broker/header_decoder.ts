import { type Header, type HeaderParser, parseHeader } from "./frame.ts";

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * Decodes the frame headers of one link. Messages from one sender mostly
 * repeat the previous header but for the message id, so the last message
 * header of flat fields (no nested object) is kept as bytes and as parsed
 * fields: a header whose bytes equal it except inside the id's string,
 * where the new id is printable ASCII without escapes, is that header with
 * the new id (the same result as `JSON.parse`, without it: the parse was
 * most of the cost of receiving a message). Anything else is parsed.
 */
export class HeaderDecoder implements HeaderParser {
  /** The last cached message header's bytes, and its id's string inside them. */
  #prev: Uint8Array | undefined;
  #idStart = 0;
  #idEnd = 0;
  /** Its fields (never handed out: each header returned is a copy). */
  #fields: Record<string, unknown> = {};

  decode(bytes: Uint8Array): Header {
    const id = this.#sameButId(bytes);
    if (id !== undefined) {
      const h = { ...this.#fields } as Record<string, unknown>;
      h.id = id;
      return h as unknown as Header;
    }
    const header = parseHeader(bytes);
    if (header.kind === "msg") this.#remember(bytes, header);
    return header;
  }

  /** The id of `bytes` when they are the cached header but for the id's characters. */
  #sameButId(b: Uint8Array): string | undefined {
    const prev = this.#prev;
    if (prev === undefined) return undefined;
    const start = this.#idStart;
    if (b.length <= start) return undefined;
    for (let i = 0; i < start; i++) if (b[i] !== prev[i]) return undefined;
    let end = start;
    for (; end < b.length; end++) {
      const c = b[end]!;
      if (c === QUOTE) break;
      if (c < 0x20 || c > 0x7e || c === BACKSLASH) return undefined;
    }
    const tail = prev.length - this.#idEnd;
    if (b.length - end !== tail) return undefined;
    for (let i = 0; i < tail; i++) if (b[end + i] !== prev[this.#idEnd + i]) return undefined;
    return plain(b, start, end);
  }

  /**
   * Keeps a parsed message header for the next ones when nothing in it can
   * make the bytes mean something else than they look: fields flat, no
   * escape anywhere, and exactly one `"id"` token, the key, followed by
   * `:"` and a plain id.
   */
  #remember(bytes: Uint8Array, header: Header): void {
    this.#prev = undefined;
    const fields = header as unknown as Record<string, unknown>;
    for (const k in fields) {
      const v = fields[k];
      if (typeof v === "object" && v !== null) return;
    }
    let at = -1;
    for (let i = 0; i < bytes.length; i++) {
      const c = bytes[i]!;
      if (c === BACKSLASH) return;
      if (c === QUOTE && bytes[i + 1] === 0x69 && bytes[i + 2] === 0x64 && bytes[i + 3] === QUOTE) {
        if (at >= 0) return; // a second "id" token
        if (bytes[i + 4] !== 0x3a || bytes[i + 5] !== QUOTE) return;
        at = i + 6;
      }
    }
    if (at < 0) return;
    let end = at;
    while (end < bytes.length && bytes[end] !== QUOTE) {
      const c = bytes[end]!;
      if (c < 0x20 || c > 0x7e) return;
      end++;
    }
    if (end >= bytes.length || fields.id !== plain(bytes, at, end)) return;
    this.#prev = bytes.slice();
    this.#idStart = at;
    this.#idEnd = end;
    this.#fields = { ...fields };
  }
}

const dec = new TextDecoder();

/**
 * The printable-ASCII bytes `b[start..end)` as a string. `fromCharCode`
 * is faster for the short ids messages carry; it takes its arguments on
 * the stack, so long runs (a header of a 100 KiB id) are decoded instead.
 */
function plain(b: Uint8Array, start: number, end: number): string {
  if (end - start > 1024) return dec.decode(b.subarray(start, end));
  return String.fromCharCode.apply(null, b.subarray(start, end) as unknown as number[]);
}
