/**
 * RESP2, the Redis wire protocol: an encoder that turns commands into one
 * string (coalesced writes) and an incremental reply parser. Pure byte logic,
 * no sockets.
 */

/** A Redis error reply (`-ERR ...`, `-WRONGTYPE ...`). */
export class RedisReplyError extends Error {
  override name = "RedisReplyError";
}

/** One Redis command as its arguments (`["HSET", "k", "f", "v"]`). */
export type Command = string[];

/** A decoded reply: simple/bulk string, integer, null, array, or an error reply. */
export type RespValue = string | number | null | RedisReplyError | RespValue[];

// deno-lint-ignore no-control-regex
const ASCII = /^[\x00-\x7f]*$/;

function byteLength(s: string): number {
  // Most keys and values are ASCII; only measure the others.
  return s.length < 64 && ASCII.test(s) ? s.length : Buffer.byteLength(s, "utf8");
}

/**
 * Appends the RESP encoding of one command (`["HSET", "k", "f", "v"]`) to
 * `out` and returns it, so a whole batch becomes one string and one write.
 *
 * @example
 * ```ts
 * encodeCommand(["SET", "k", "v"]); // "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n"
 * ```
 */
export function encodeCommand(args: readonly string[], out = ""): string {
  out += "*" + args.length + "\r\n";
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    out += "$" + byteLength(a) + "\r\n" + a + "\r\n";
  }
  return out;
}

const CR = 13;

/**
 * Incremental RESP2 reply parser: feed it socket chunks, it calls `onReply`
 * for each complete top-level reply, in order. Partial replies are kept
 * across chunks.
 */
export class RespParser {
  #buf: Buffer = Buffer.alloc(0);
  #pos = 0;
  readonly #onReply: (value: RespValue) => void;

  constructor(onReply: (value: RespValue) => void) {
    this.#onReply = onReply;
  }

  /**
   * Consumes a chunk of reply bytes (not kept after the call). Throws
   * `SyntaxError` on bytes that are not RESP.
   */
  push(chunk: Uint8Array): void {
    const c = Buffer.isBuffer(chunk)
      ? chunk
      : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
    this.#buf = this.#pos < this.#buf.length
      ? Buffer.concat([this.#buf.subarray(this.#pos), c])
      : c;
    this.#pos = 0;
    while (this.#pos < this.#buf.length) {
      const start = this.#pos;
      const v = this.#value();
      if (v === INCOMPLETE) {
        this.#pos = start;
        break;
      }
      this.#onReply(v);
    }
    if (this.#pos >= this.#buf.length) {
      this.#buf = Buffer.alloc(0);
      this.#pos = 0;
    } else if (this.#buf === c) {
      // A partial reply outlives the call: keep a copy, not the caller's chunk.
      this.#buf = Buffer.from(c.subarray(this.#pos));
      this.#pos = 0;
    }
  }

  /** Drops any buffered partial reply (after a reconnect). */
  reset(): void {
    this.#buf = Buffer.alloc(0);
    this.#pos = 0;
  }

  #line(): string | typeof INCOMPLETE {
    const buf = this.#buf;
    const end = buf.indexOf(CR, this.#pos);
    if (end < 0 || end + 1 >= buf.length) return INCOMPLETE;
    const s = buf.toString("latin1", this.#pos, end);
    this.#pos = end + 2;
    return s;
  }

  #value(): RespValue | typeof INCOMPLETE {
    const buf = this.#buf;
    if (this.#pos >= buf.length) return INCOMPLETE;
    const type = buf[this.#pos++]!;
    const line = this.#line();
    if (line === INCOMPLETE) return INCOMPLETE;
    switch (type) {
      case 0x2b: // +
        return line;
      case 0x2d: // -
        return new RedisReplyError(line);
      case 0x3a: // :
        return Number(line);
      case 0x24: { // $
        const len = Number(line);
        if (len < 0) return null;
        if (this.#pos + len + 2 > buf.length) return INCOMPLETE;
        const s = buf.toString("utf8", this.#pos, this.#pos + len);
        this.#pos += len + 2;
        return s;
      }
      case 0x2a: { // *
        const len = Number(line);
        if (len < 0) return null;
        const arr: RespValue[] = new Array(len);
        for (let i = 0; i < len; i++) {
          const v = this.#value();
          if (v === INCOMPLETE) return INCOMPLETE;
          arr[i] = v;
        }
        return arr;
      }
      default:
        throw new SyntaxError(
          `Invalid reply from Redis: unexpected type byte 0x${type.toString(16)}`,
        );
    }
  }
}

const INCOMPLETE: unique symbol = Symbol("incomplete");
