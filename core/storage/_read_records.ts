/** Reading a record log's durable records from a cursor. */
import { parseRecords } from "./record_format.ts";
import { _readAt, type _Segment } from "./_segment.ts";
import type { LogCursor } from "./record_log_options.ts";

/**
 * Reads records on disk in `segments` from `cursor`, about `maxBytes` of
 * them (at least one when any is left), and the cursor after them. A cursor
 * behind the consumed front reads from the front.
 */
export async function _readRecords(
  segments: readonly _Segment[],
  cursor: LogCursor,
  maxBytes: number,
): Promise<{ records: Uint8Array[]; next: LogCursor }> {
  let { segment, offset } = cursor;
  for (const seg of segments) {
    if (seg.n < segment) continue;
    if (seg.n > segment || offset < seg.start) {
      segment = seg.n;
      offset = seg.start;
    }
    if (offset >= seg.written) continue;
    let want = Math.min(maxBytes, seg.written - offset);
    while (true) {
      const bytes = await _readAt(seg.path, offset, want);
      const parsed = parseRecords(bytes);
      if (parsed.records.length > 0) {
        return {
          records: parsed.records.map((r) => r.payload),
          next: { segment: seg.n, offset: offset + parsed.end },
        };
      }
      if (want >= seg.written - offset) break; // nothing intact left in this segment
      want = Math.min(seg.written - offset, want * 2);
    }
  }
  const last = segments.at(-1);
  return {
    records: [],
    next: last ? { segment: last.n, offset: Math.max(offset, last.written) } : cursor,
  };
}
