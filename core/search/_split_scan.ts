/**
 * One read of a file split into parts that are read at once (one per
 * search worker), and its fallback: the parts' answers are merged only when
 * every part read the same version of the file. When the file changed
 * between the parts' opens, the parts hold lines of different versions (and
 * a query one part found may have been skipped by another through the
 * shared flags), so the file is read again whole and every answer comes
 * from one version.
 */
import type { ScanOutcome } from "./chunked_scan.ts";
import { versionChanged } from "./file_bytes.ts";

/** How {@linkcode scanInParts} reads the file. */
export interface PartReaders {
  /** Reads part `index` (from 0) of the parts the file is split into. */
  part: (index: number) => Promise<ScanOutcome>;
  /** Reads the whole file in one scan (the fallback). */
  whole: () => Promise<ScanOutcome>;
}

/**
 * The answers of the parts of one split read, merged (a query is found when
 * some part found it), or `undefined` when the parts read different
 * versions of the file (then none of their answers can be trusted).
 */
export function mergeParts(parts: readonly ScanOutcome[]): ScanOutcome | undefined {
  const first = parts[0];
  if (!first) return undefined;
  const version = first.version;
  if (parts.some((p) => versionChanged(version, p.version))) return undefined;
  const found = first.found.map((_, i) => parts.some((p) => p.found[i]));
  return { found, version };
}

/**
 * Reads the file in `of` parts at once through `read.part`, and answers
 * from their merged answers; when the parts read different versions, from
 * one `read.whole` scan. If a part fails, rejects with the first failure
 * once every part has settled (so no part is still running).
 *
 * @example
 * ```ts
 * const outcome = await scanInParts(2, {
 *   part: (index) => worker(index).call("scan", { path, queries, part: { index, of: 2 } }),
 *   whole: () => worker(0).call("scan", { path, queries }),
 * });
 * ```
 */
export async function scanInParts(of: number, read: PartReaders): Promise<ScanOutcome> {
  if (!Number.isInteger(of) || of < 1) {
    throw new RangeError(`Invalid number of scan parts: expected an integer >= 1, got ${of}`);
  }
  const settled = await Promise.allSettled(Array.from({ length: of }, (_, i) => read.part(i)));
  const parts = settled.map((r) => {
    if (r.status === "rejected") throw r.reason;
    return r.value;
  });
  return mergeParts(parts) ?? await read.whole();
}
