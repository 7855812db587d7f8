import { crc32 } from "../checksum/mod.ts";

/**
 * Sync marker at the start of every record ("SKRL"): after a damaged record
 * the parser scans forward to the next marker and checks that record.
 */
export const RECORD_MAGIC = 0x534b524c;

/** Bytes before each record's payload: u32 magic, u32 payload length, u32 CRC-32. */
export const RECORD_HEADER_BYTES = 12;

/** One intact record found by {@linkcode parseRecords}. */
export interface ParsedRecord {
  /** Byte offset of the record's header in the parsed bytes. */
  offset: number;
  /** Bytes from the end of the previous intact record (or the start) to this record's end. */
  span: number;
  /** The payload (a view into the parsed bytes). */
  payload: Uint8Array;
}

/** A damaged stretch the parser skipped. */
export interface DamagedRange {
  /** Byte offset where the damage starts. */
  offset: number;
  /** Bytes skipped. */
  bytes: number;
  /** What was wrong with the record at `offset`. */
  reason: string;
}

/** What {@linkcode parseRecords} found. */
export interface ParseResult {
  records: ParsedRecord[];
  /** Damaged stretches followed by an intact record (each costs only itself). */
  damaged: DamagedRange[];
  /** Offset after the last intact record: where a torn tail starts, or the input's length. */
  end: number;
  /** Bytes after `end` that hold no intact record (a torn or corrupt tail), with the reason. */
  tail?: { offset: number; bytes: number; reason: string };
}

/** Encodes one record: `u32 BE magic | u32 BE length | u32 BE CRC-32(length ‖ payload) | payload`. */
export function encodeRecord(payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(RECORD_HEADER_BYTES + payload.length);
  writeRecord(out, 0, payload);
  return out;
}

/** Writes one record into `out` at `at`; returns the offset after it. */
export function writeRecord(out: Uint8Array, at: number, payload: Uint8Array): number {
  const v = new DataView(out.buffer, out.byteOffset, out.byteLength);
  v.setUint32(at, RECORD_MAGIC);
  v.setUint32(at + 4, payload.length);
  out.set(payload, at + RECORD_HEADER_BYTES);
  v.setUint32(at + 8, checksum(out, at, payload.length));
  return at + RECORD_HEADER_BYTES + payload.length;
}

function checksum(bytes: Uint8Array, at: number, len: number): number {
  // The length is covered too, so a damaged length cannot pass as a shorter record.
  const lenBytes = bytes.subarray(at + 4, at + 8);
  const c1 = crc32(lenBytes);
  const c2 = crc32(bytes.subarray(at + RECORD_HEADER_BYTES, at + RECORD_HEADER_BYTES + len));
  return (c1 ^ Math.imul(c2, 0x9e3779b1)) >>> 0;
}

type Try = { payload: Uint8Array; next: number } | { error: string };

function tryRecord(bytes: Uint8Array, v: DataView, at: number): Try {
  const left = bytes.length - at;
  if (left < RECORD_HEADER_BYTES) return { error: `truncated record header (${left} bytes)` };
  if (v.getUint32(at) !== RECORD_MAGIC) return { error: "no record marker" };
  const len = v.getUint32(at + 4);
  if (left - RECORD_HEADER_BYTES < len) {
    return {
      error: `truncated record: ${len} bytes declared, ${left - RECORD_HEADER_BYTES} present`,
    };
  }
  if (checksum(bytes, at, len) !== v.getUint32(at + 8)) return { error: "checksum mismatch" };
  const start = at + RECORD_HEADER_BYTES;
  return { payload: bytes.subarray(start, start + len), next: start + len };
}

const M0 = RECORD_MAGIC >>> 24;

/**
 * Parses records out of `bytes` (pure: no files). A damaged record (bad
 * marker, length or checksum) costs only itself: the parser scans forward to
 * the next sync marker whose record checks out and goes on from there. Bytes
 * after the last intact record that hold none are reported as `tail` (a
 * write torn by a crash, or an incomplete read window).
 */
export function parseRecords(bytes: Uint8Array): ParseResult {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const records: ParsedRecord[] = [];
  const damaged: DamagedRange[] = [];
  let i = 0;
  let prevEnd = 0;
  while (i < bytes.length) {
    const r = tryRecord(bytes, v, i);
    if ("payload" in r) {
      records.push({ offset: i, span: r.next - prevEnd, payload: r.payload });
      i = prevEnd = r.next;
      continue;
    }
    let j = i + 1;
    let found = -1;
    while (j <= bytes.length - RECORD_HEADER_BYTES) {
      j = bytes.indexOf(M0, j);
      if (j < 0 || j > bytes.length - RECORD_HEADER_BYTES) break;
      if (v.getUint32(j) === RECORD_MAGIC && "payload" in tryRecord(bytes, v, j)) {
        found = j;
        break;
      }
      j++;
    }
    if (found < 0) {
      return {
        records,
        damaged,
        end: i,
        tail: { offset: i, bytes: bytes.length - i, reason: r.error },
      };
    }
    damaged.push({ offset: i, bytes: found - i, reason: r.error });
    i = found;
  }
  return { records, damaged, end: i };
}

/**
 * Reads records of the older format (`u32 BE length | u32 BE CRC-32 | payload`,
 * the broker's `*.journal`/`*.queue` files and ingest's `*.spool` files) up to
 * the first bad one, so they can be moved into a record log.
 */
export function parseLegacyRecords(bytes: Uint8Array): { payloads: Uint8Array[]; error?: string } {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const payloads: Uint8Array[] = [];
  let at = 0;
  while (at < bytes.length) {
    if (at + 8 > bytes.length) return { payloads, error: "truncated record header" };
    const len = v.getUint32(at);
    const payload = bytes.subarray(at + 8, at + 8 + len);
    if (payload.length < len) return { payloads, error: "truncated record" };
    if (crc32(payload) !== v.getUint32(at + 4)) return { payloads, error: "checksum mismatch" };
    payloads.push(payload);
    at += 8 + len;
  }
  return { payloads };
}
