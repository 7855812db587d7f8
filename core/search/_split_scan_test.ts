import assert from "node:assert/strict";
import { join } from "node:path";
import { ChunkedLineScanner, type ScanOutcome } from "./chunked_scan.ts";
import type { FileVersion } from "./file_bytes.ts";
import { mergeParts, scanInParts } from "./_split_scan.ts";
import { delay } from "../async/mod.ts";
import { tempDir } from "../../tests/harness/mod.ts";

const enc = new TextEncoder();
const V: FileVersion = { size: 100, mtimeMs: 5, ino: 7 };

Deno.test("mergeParts() merges the answers of parts that read one version, and refuses parts of different versions", async (t) => {
  await t.step("one version: a query is found when some part found it", () => {
    const merged = mergeParts([
      { found: [true, false, false], version: V },
      { found: [false, false, true], version: { ...V } },
    ]);
    assert.deepEqual(merged, { found: [true, false, true], version: V });
  });
  for (
    const [label, other] of [
      ["a different size", { ...V, size: 101 }],
      ["a different modification time", { ...V, mtimeMs: 6 }],
      ["a different inode (replaced by rename)", { ...V, ino: 8 }],
    ] as const
  ) {
    await t.step(`${label}: undefined (the file is read again whole)`, () => {
      const parts: ScanOutcome[] = [
        { found: [true], version: V },
        { found: [false], version: V },
        { found: [false], version: other },
      ];
      assert.equal(mergeParts(parts), undefined);
    });
  }
});

/** Writes `lines` to `path` as a new file (write, then rename: a new inode, like an atomic replace). */
async function replaceFile(path: string, lines: string[]): Promise<void> {
  const next = `${path}.next`;
  await Deno.writeTextFile(next, lines.join("\n") + "\n");
  await Deno.rename(next, path);
}

Deno.test("scanInParts() answers from one version when the file is replaced between the parts' reads", async () => {
  await using dir = await tempDir();
  const file = join(dir.path, "w.txt");
  const oldLines = Array.from({ length: 1000 }, (_, i) => `old-${i}`);
  const newLines = Array.from({ length: 1200 }, (_, i) => `new-${i}`);
  await replaceFile(file, oldLines);
  // old-0 is in the old file's first part, new-1199 in the new file's last part.
  const queries = ["old-0", "new-1199", "old-999", "new-0"].map((q) => enc.encode(q));
  const flags = new Int32Array(new SharedArrayBuffer(4 * queries.length));
  // One scanner per part, as each worker has its own.
  const scanners = [new ChunkedLineScanner(), new ChunkedLineScanner()];
  const parts: ScanOutcome[] = [];
  let wholeReads = 0;
  const outcome = await scanInParts(2, {
    part: async (index) => {
      // Part 0 reads the old file; the file is replaced before part 1 opens it.
      if (index === 1) await replaceFile(file, newLines);
      const p = scanners[index]!.scanPart(file, queries, { index, of: 2, flags });
      parts.push(p);
      return p;
    },
    whole: () => {
      wholeReads++;
      return Promise.resolve(new ChunkedLineScanner().scanPart(file, queries));
    },
  });
  assert.equal(parts.length, 2);
  assert.notDeepEqual(parts[0]!.version, parts[1]!.version, "the parts read two versions");
  // Merged, the two parts would give an answer neither version gives.
  const mixed = queries.map((_, i) => parts.some((p) => p.found[i]));
  assert.deepEqual(mixed, [true, true, false, false]);
  assert.equal(wholeReads, 1, "the file was read again whole");
  const now = new ChunkedLineScanner().scan(file, queries);
  assert.deepEqual(now, [false, true, false, true]);
  assert.deepEqual(outcome.found, now, "the answer is the new file's whole answer");
  assert.deepEqual(outcome.version, parts[1]!.version);
});

Deno.test("scanInParts() merges parts that read one version without a second read", async () => {
  await using dir = await tempDir();
  const file = join(dir.path, "w.txt");
  const lines = Array.from({ length: 3000 }, (_, i) => `line-${i};`);
  await replaceFile(file, lines);
  const queries = ["line-0;", "line-1500;", "line-2999;", "line-3000;", "line-1"].map((q) =>
    enc.encode(q)
  );
  const flags = new Int32Array(new SharedArrayBuffer(4 * queries.length));
  let wholeReads = 0;
  const outcome = await scanInParts(3, {
    part: (index) =>
      Promise.resolve(new ChunkedLineScanner().scanPart(file, queries, { index, of: 3, flags })),
    whole: () => {
      wholeReads++;
      return Promise.resolve(new ChunkedLineScanner().scanPart(file, queries));
    },
  });
  assert.equal(wholeReads, 0);
  assert.deepEqual(outcome.found, [true, true, true, false, false]);
  assert.deepEqual(outcome.found, new ChunkedLineScanner().scan(file, queries));
});

Deno.test("scanInParts() rejects with a part's failure only once every part has settled", async () => {
  let releasePart0!: (o: ScanOutcome) => void;
  let settled = false;
  const result = scanInParts(2, {
    part: (index) =>
      index === 0
        ? new Promise<ScanOutcome>((resolve) => releasePart0 = resolve)
        : Promise.reject(new Error("Search worker crashed: boom")),
    whole: () => Promise.reject(new Error("not expected: no whole read after a failure")),
  }).finally(() => settled = true);
  await delay(0);
  assert.equal(settled, false, "part 0 is still running: the batch is not over");
  releasePart0({ found: [true], version: V });
  await assert.rejects(result, /Search worker crashed: boom/);
});

Deno.test("scanInParts() refuses a number of parts that is not an integer >= 1", async () => {
  const read = {
    part: () => Promise.resolve({ found: [], version: V }),
    whole: () => Promise.resolve({ found: [], version: V }),
  };
  await assert.rejects(scanInParts(0, read), {
    name: "RangeError",
    message: "Invalid number of scan parts: expected an integer >= 1, got 0",
  });
});
