/** One segment file of a record log and how its bytes are laid out. */
import { join } from "node:path";

/** The in-memory state of one segment file (`DIR/0000000001.log`...). */
export interface _Segment {
  n: number;
  path: string;
  /** Bytes on disk (written, and synced when `fsync`). */
  written: number;
  /** Bytes assigned: written plus pending. */
  end: number;
  /** Offset of the first unconsumed record. */
  start: number;
  /** Unconsumed durable records. */
  count: number;
}

const SEGMENT_RE = /^(\d{10})\.log$/;

/** The file of segment `n` in `dir`. */
export function _segmentPath(dir: string, n: number): string {
  return join(dir, `${String(n).padStart(10, "0")}.log`);
}

/** A new, empty segment `n` of the log in `dir`. */
export function _newSegment(dir: string, n: number): _Segment {
  return { n, path: _segmentPath(dir, n), written: 0, end: 0, start: 0, count: 0 };
}

/** The numbers of the segment files in `dir`, in order. */
export function _segmentNumbers(dir: string): number[] {
  const numbers: number[] = [];
  for (const e of Deno.readDirSync(dir)) {
    const m = e.isFile ? SEGMENT_RE.exec(e.name) : null;
    if (m) numbers.push(Number(m[1]));
  }
  return numbers.sort((a, b) => a - b);
}

/** Up to `n` bytes of `path` from `offset` (fewer at the end of the file). */
export async function _readAt(path: string, offset: number, n: number): Promise<Uint8Array> {
  using f = await Deno.open(path, { read: true });
  await f.seek(offset, Deno.SeekMode.Start);
  const buf = new Uint8Array(n);
  let got = 0;
  while (got < n) {
    const r = await f.read(buf.subarray(got));
    if (r === null) break;
    got += r;
  }
  return buf.subarray(0, got);
}
