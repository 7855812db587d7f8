import type { MsgHeader } from "./frame.ts";

/**
 * The longest id a sender may choose for a message (`id`), for the request
 * it answers (`replyTo`) and for a file transfer (`file.transfer`), UTF-8
 * bytes. The receiver remembers every message id per sender (to drop
 * repeats, see `dedupe.ts`) and every transfer in progress, so these are
 * bounded like the frame is. Our own ids are 9 to 16 ASCII characters.
 */
export const MAX_ID_BYTES = 256;

/** The peer-chosen ids of a message header, by field name. */
function* ids(h: MsgHeader): Generator<[string, unknown]> {
  yield ["id", h.id];
  if (h.replyTo !== undefined) yield ["replyTo", h.replyTo];
  if (h.file !== undefined && h.file !== null) yield ["file.transfer", h.file.transfer];
}

/**
 * Why `h` cannot be taken: one of its ids is longer than
 * {@linkcode MAX_ID_BYTES} (the error names the field, its length and the
 * limit), else `undefined`. Non-string ids are left to the other checks.
 */
export function idTooLong(h: MsgHeader): string | undefined {
  for (const [field, v] of ids(h)) {
    if (typeof v !== "string" || v.length * 3 <= MAX_ID_BYTES) continue;
    const bytes = utf8Length(v);
    if (bytes <= MAX_ID_BYTES) continue;
    return `Message field "${field}" too long: ${bytes} bytes (UTF-8) exceeds the ${MAX_ID_BYTES} byte limit ` +
      `(the receiver remembers ids per sender; use a shorter one)`;
  }
  return undefined;
}

/** The UTF-8 length of `s` as `TextEncoder` encodes it (a lone surrogate as 3 bytes), without encoding it. */
export function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c < 0xdc00 && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d < 0xe000) {
        n += 4;
        i++;
      } else n += 3;
    } else n += 3;
  }
  return n;
}

/**
 * Why an app's `h` cannot be sent: its `id` (or `replyTo`, or
 * `file.transfer`) is given but is not a string, which the peer refuses as
 * malformed, closing the link (the journal would replay it forever); else
 * `undefined`.
 */
export function idNotString(h: MsgHeader): string | undefined {
  for (const [field, v] of ids(h)) {
    if (typeof v !== "string") {
      return `Message field "${field}" must be a string, got ${
        v === null ? "null" : typeof v
      } (leave "id" out and the connector makes one)`;
    }
  }
  return undefined;
}
