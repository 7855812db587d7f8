/** Opening a record log: every segment on disk checked, damage skipped or cut and reported. */
import { parseRecords } from "./record_format.ts";
import { _readHead } from "./_head_file.ts";
import { type _Segment, _segmentNumbers, _segmentPath } from "./_segment.ts";
import { SizeQueue } from "./size_queue.ts";
import type { LogCursor, RecordLogOptions } from "./record_log_options.ts";

/** The durable records of a log as found on disk. */
export interface _Recovered {
  /** Segments holding unconsumed records, oldest first. */
  segments: _Segment[];
  /** The size of each unconsumed record, oldest first. */
  sizes: SizeQueue;
  /** Unconsumed records. */
  count: number;
  /** Bytes they take. */
  bytes: number;
  /** The number of the next segment to create. */
  nextSeg: number;
}

/**
 * Reads the log in `dir` (which exists): deletes segments before the saved
 * front, skips damaged records and cuts a torn tail of the last segment,
 * telling `onDamage` about each.
 */
export function _recover(dir: string, opts: Pick<RecordLogOptions, "onDamage">): _Recovered {
  const out: _Recovered = { segments: [], sizes: new SizeQueue(), count: 0, bytes: 0, nextSeg: 1 };
  const numbers = _segmentNumbers(dir);
  const head = _readHead(dir);
  for (let i = 0; i < numbers.length; i++) {
    const n = numbers[i]!;
    const path = _segmentPath(dir, n);
    if (head && n < head.segment) {
      try {
        Deno.removeSync(path);
      } catch { /* gone */ }
      continue;
    }
    const seg = recoverSegment(n, path, head, i === numbers.length - 1, opts);
    out.segments.push(seg.seg);
    for (const s of seg.sizes) out.sizes.push(s);
    out.bytes += seg.bytes;
    out.count += seg.seg.count;
    out.nextSeg = n + 1;
  }
  // A log consumed to its end has no segment left, and its head names the segment after the
  // last one: new segments come after it, or the next open would drop them as consumed.
  if (head) out.nextSeg = Math.max(out.nextSeg, head.segment + 1);
  return out;
}

function recoverSegment(
  n: number,
  path: string,
  head: LogCursor | undefined,
  last: boolean,
  opts: Pick<RecordLogOptions, "onDamage">,
): { seg: _Segment; sizes: number[]; bytes: number } {
  const bytes = Deno.readFileSync(path);
  const start = head && n === head.segment ? Math.min(head.offset, bytes.length) : 0;
  const parsed = parseRecords(bytes.subarray(start));
  const kept = parsed.records.length;
  for (const d of parsed.damaged) {
    opts.onDamage?.({ kind: "corrupt", file: path, ...d, offset: start + d.offset, kept });
  }
  let written = bytes.length;
  if (parsed.tail && isZeros(bytes, start + parsed.tail.offset)) {
    // The zero fill ahead of the writes (`_group_commit.ts`): the end, not damage.
    written = start + parsed.end;
    Deno.truncateSync(path, written);
  } else if (parsed.tail) {
    const t = parsed.tail;
    opts.onDamage?.({
      kind: last ? "torn" : "corrupt",
      file: path,
      offset: start + t.offset,
      bytes: t.bytes,
      reason: t.reason,
      kept,
    });
    if (last) {
      written = start + parsed.end;
      Deno.truncateSync(path, written);
    }
  }
  const sizes = parsed.records.map((r) => r.span);
  return {
    seg: { n, path, written, end: written, start, count: kept },
    sizes,
    bytes: sizes.reduce((a, b) => a + b, 0),
  };
}

/** Whether `bytes` from `from` on are all zero. */
function isZeros(bytes: Uint8Array, from: number): boolean {
  for (let i = from; i < bytes.length; i++) if (bytes[i] !== 0) return false;
  return true;
}
