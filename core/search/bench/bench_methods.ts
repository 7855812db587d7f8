/**
 * The search methods `search bench` compares. Each can answer a query in
 * two modes: `reread` (read the file and search it for this one query, as
 * `reread_on_query=True` requires) and `index` (search a structure prepared
 * once from the file). A method that cannot run in a mode leaves it out.
 */
import { Buffer } from "node:buffer";
import { containsLine, indexOfBytes } from "../line_search.ts";
import { SimdSearcher } from "../simd_search.ts";
import { LineTable } from "../line_table.ts";
import { FileBytesReader, readFileBytes } from "../file_bytes.ts";
import { ChunkedLineScanner } from "../chunked_scan.ts";
import type { SearchWorkerPool } from "../worker_pool.ts";

/** A prepared index-mode searcher. */
export type IndexedSearch = (query: Uint8Array) => boolean | Promise<boolean>;

/** One search method under test. */
export interface SearchMethod {
  /** Short unique name (table rows, chart legend). */
  name: string;
  /** How it works, one line. */
  description: string;
  /** Reread mode: read `path` and search it. Absent when the method has no reread form. */
  reread?: (path: string, query: Uint8Array) => boolean | Promise<boolean>;
  /** Index mode: prepare once from `path`. Absent when the method has no index form. */
  index?: (path: string) => IndexedSearch | Promise<IndexedSearch>;
  /**
   * Not a search: it times what a reread cannot go below (reading the file)
   * and answers nothing, so its answers are not checked.
   */
  floor?: true;
}

/** Name of the floor method (reads without searching, see {@linkcode SearchMethod.floor}). */
export const FLOOR_METHOD = "read-floor";

/** Names of the methods the server uses, per mode. */
export const SERVER_METHODS = {
  reread: "simd-worker",
  index: "byte-table",
} as const;

const reader = new FileBytesReader();
const simd = SimdSearcher.create();
const simdReader = simd ? new FileBytesReader((size) => simd.buffer(size)) : undefined;
const pieceSimd = SimdSearcher.create(); // its own memory, apart from simdReader's
const pieceScanner = new ChunkedLineScanner(
  pieceSimd ? { alloc: (size) => pieceSimd.buffer(size), find: pieceSimd.findLine } : {},
);
// The same reads as pieceScanner's, into memory of its own, with a search that finds nothing.
const floorSimd = SimdSearcher.create();
const floorScanner = new ChunkedLineScanner({
  ...(floorSimd ? { alloc: (size: number) => floorSimd.buffer(size) } : {}),
  find: () => -1,
});
const LF = 0x0a;
const CR = 0x0d;

function latin1(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString("latin1");
}

function linesOf(text: string): string[] {
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    if (l.endsWith("\r")) lines[i] = l.slice(0, -1);
  }
  return lines;
}

function bufferFinder(h: Uint8Array, n: Uint8Array, from: number): number {
  return Buffer.from(h.buffer, h.byteOffset, h.length).indexOf(n, from);
}

/** Full-line match over a latin1 string with `String.prototype.indexOf`. */
function stringContainsLine(text: string, q: string): boolean {
  if (q === "") return false;
  const ends = (end: number) =>
    end === text.length || text.charCodeAt(end) === LF ||
    (text.charCodeAt(end) === CR && (end + 1 === text.length || text.charCodeAt(end + 1) === LF));
  if (text.startsWith(q) && ends(q.length)) return true;
  const needle = "\n" + q;
  for (let at = text.indexOf(needle); at >= 0; at = text.indexOf(needle, at + 1)) {
    if (ends(at + needle.length)) return true;
  }
  return false;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
}

function regexTest(text: string, q: string): boolean {
  if (q === "") return false;
  return new RegExp(`^${escapeRegExp(q)}\\r?$`, "m").test(text);
}

function sortedOf(text: string): string[] {
  return linesOf(text).filter((l) => l !== "").sort();
}

function binarySearch(sorted: string[], q: string): boolean {
  let lo = 0;
  let hi = sorted.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const v = sorted[mid]!;
    if (v === q) return true;
    if (v < q) lo = mid + 1;
    else hi = mid - 1;
  }
  return false;
}

const utf8 = new TextDecoder();

function lineScan(bytes: Uint8Array, q: string): boolean {
  if (q === "") return false;
  for (const line of linesOf(utf8.decode(bytes))) if (line === q) return true;
  return false;
}

/** Streams the file in 64 KiB chunks, searching whole lines of each chunk. */
async function streamedScan(path: string, query: Uint8Array): Promise<boolean> {
  using file = await Deno.open(path);
  const chunk = new Uint8Array(64 * 1024);
  let carry = new Uint8Array(0);
  while (true) {
    const n = await file.read(chunk);
    if (n === null) return containsLine(carry, query);
    let data = chunk.subarray(0, n);
    if (carry.length > 0) {
      const joined = new Uint8Array(carry.length + n);
      joined.set(carry);
      joined.set(data, carry.length);
      data = joined;
    }
    const lastNl = data.lastIndexOf(LF);
    if (lastNl < 0) {
      carry = data.slice();
      continue;
    }
    if (containsLine(data.subarray(0, lastNl + 1), query)) return true;
    carry = data.slice(lastNl + 1);
  }
}

async function grepFxq(path: string, query: Uint8Array): Promise<boolean> {
  const out = await new Deno.Command("grep", {
    args: ["-Fxq", "--", new TextDecoder("latin1").decode(query), path],
    stdout: "null",
    stderr: "null",
    env: { LC_ALL: "C" },
  }).output();
  if (out.code > 1) throw new Error(`grep -Fxq failed with exit code ${out.code}`);
  return out.code === 0;
}

/**
 * Both modes of a method that prepares the file's bytes (`prepare`) and then
 * answers from what it prepared (`test`): reread prepares for every query,
 * index prepares once.
 */
function bothModes<T>(
  prepare: (bytes: Uint8Array) => T,
  test: (prepared: T, query: Uint8Array) => boolean,
): Required<Pick<SearchMethod, "reread" | "index">> {
  return {
    reread: (path, q) => test(prepare(reader.read(path)), q),
    index: (path) => {
      const prepared = prepare(readFileBytes(path).bytes);
      return (q) => test(prepared, q);
    },
  };
}

/**
 * The methods compared by `search bench`. `pool` runs the worker variants
 * (the server's reread path, and an index lookup through a worker round trip).
 */
export function searchMethods(pool: SearchWorkerPool): SearchMethod[] {
  return [
    {
      name: "byte-table",
      description:
        "hash table over raw line bytes (FNV-1a, open addressing), looked up on the calling thread",
      ...bothModes((bytes) => LineTable.build(bytes), (t, q) => t.has(q)),
    },
    {
      name: "byte-table-worker",
      description: "the same hash table kept in a worker; each lookup is a worker round trip",
      index: async (path) => {
        await pool.lookup(path, new Uint8Array(0));
        return (q) => pool.lookup(path, q);
      },
    },
    {
      name: "set-latin1",
      description: "JavaScript Set of the lines as latin1 strings (byte-exact keys)",
      reread: (path, q) => new Set(linesOf(latin1(reader.read(path)))).has(latin1(q)),
      index: (path) => {
        const set = new Set(linesOf(latin1(readFileBytes(path).bytes)));
        set.delete("");
        return (q) => q.length > 0 && set.has(latin1(q));
      },
    },
    {
      name: "sorted-binary",
      description: "sorted array of latin1 lines + binary search",
      ...bothModes(
        (bytes) => sortedOf(latin1(bytes)),
        (sorted, q) => binarySearch(sorted, latin1(q)),
      ),
    },
    {
      name: "horspool",
      description:
        "Boyer-Moore-Horspool (bigram skip table) over the raw bytes for \\n+query, line-end check",
      ...bothModes((bytes) => bytes, (bytes, q) => containsLine(bytes, q)),
    },
    {
      name: "simd",
      description:
        "file read in 512 KiB pieces into WebAssembly memory, each searched while in cache: SIMD test of 32 positions per step for \\n+query followed by a line end",
      reread: (path, q) => pieceScanner.scan(path, [q])[0]!,
      index: (path) => {
        const bytes = readFileBytes(path).bytes;
        const own = SimdSearcher.create(); // its own memory: the reread buffer is reused
        if (!own) return (q) => containsLine(bytes, q);
        const hay = own.buffer(bytes.length);
        hay.set(bytes);
        return (q) => containsLine(hay, q, own.findLine);
      },
    },
    {
      name: FLOOR_METHOD,
      description:
        "no search: the file read to its end in 512 KiB pieces into WebAssembly memory, as the simd scan reads it for an absent query (the floor of a reread on this machine; answers not checked)",
      floor: true,
      reread: (path, q) => floorScanner.scan(path, [q])[0]!,
    },
    {
      name: "simd-whole",
      description:
        "the earlier reread path: whole file read into WebAssembly memory, then SIMD test of 16 positions at once for \\n+query",
      reread: (path, q) =>
        simd && simdReader
          ? containsLine(simdReader.read(path), q, simd.find)
          : containsLine(reader.read(path), q, indexOfBytes),
    },
    {
      name: "simd-worker",
      description:
        "the server's reread path: the simd scan in a pool of one worker per core (read + search there; a file of 2 MiB or more is split between the workers)",
      reread: (path, q) => pool.scan(path, q),
    },
    {
      name: "buffer-indexof",
      description: "node:buffer Buffer.indexOf for \\n+query over the raw bytes, line-end check",
      ...bothModes((bytes) => bytes, (bytes, q) => containsLine(bytes, q, bufferFinder)),
    },
    {
      name: "latin1-indexof",
      description: "whole file as a latin1 string, String.prototype.indexOf for \\n+query",
      ...bothModes(latin1, (text, q) => stringContainsLine(text, latin1(q))),
    },
    {
      name: "line-scan",
      description:
        "UTF-8 decode, split into lines, compare each (not byte-exact for invalid UTF-8)",
      reread: (path, q) => lineScan(reader.read(path), utf8.decode(q)),
      index: (path) => {
        const lines = linesOf(utf8.decode(readFileBytes(path).bytes));
        return (q) => {
          const s = utf8.decode(q);
          return s !== "" && lines.includes(s);
        };
      },
    },
    {
      name: "regex",
      description: "multiline RegExp ^query\\r?$ over the latin1 text",
      ...bothModes(latin1, (text, q) => regexTest(text, latin1(q))),
    },
    {
      name: "streamed",
      description: "read in 64 KiB chunks, Horspool over the whole lines of each chunk",
      reread: streamedScan,
    },
    {
      name: "grep -Fxq",
      description: "a grep -Fxq subprocess per query (the anchor)",
      reread: grepFxq,
    },
  ];
}
