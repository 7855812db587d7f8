/** Copies of at most this many bytes share a slab; larger ones get a buffer of their own. */
const SMALL = 1024;
/** Bytes per slab: a kept small copy keeps at most this much memory alive. */
const SLAB = 16 * 1024;

/** The one empty copy: an empty view would keep its chunk (or a slab) alive. */
const EMPTY: Uint8Array = new Uint8Array(0);

let slab = new Uint8Array(SLAB);
let used = 0;

/**
 * A copy of `bytes` (a view into a received chunk) that stays valid after
 * the chunk is gone. Small copies are carved out of a shared 16 KiB slab, as
 * Node's `Buffer` pool does: `slice()` gives each 100-byte message an
 * ArrayBuffer of its own, dearer than delivering the message.
 */
export function copyBytes(bytes: Uint8Array): Uint8Array {
  const n = bytes.length;
  if (n === 0) return EMPTY;
  if (n > SMALL) return bytes.slice();
  if (used + n > SLAB) {
    slab = new Uint8Array(SLAB);
    used = 0;
  }
  const out = slab.subarray(used, used + n);
  out.set(bytes);
  used += (n + 7) & ~7;
  return out;
}
