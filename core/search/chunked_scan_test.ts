import assert from "node:assert/strict";
import { join } from "node:path";
import { ChunkedLineScanner } from "./chunked_scan.ts";
import { containsLine } from "./line_search.ts";
import { SearchFileError } from "./file_bytes.ts";
import { SimdSearcher } from "./simd_search.ts";
import { plainLineFilter } from "./line_batch.ts";

const enc = new TextEncoder();

Deno.test("ChunkedLineScanner agrees with containsLine() on the whole file at every piece size, one query at a time or all in one pass", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "f.txt");
    const text = "first\r\nab\nabc\r\n\n" + "x".repeat(300) + "\nab\rc\nmid;1;\r\r\nlast\r";
    await Deno.writeTextFile(path, text);
    const bytes = enc.encode(text);
    const queries = [
      "first",
      "ab",
      "abc",
      "x".repeat(300),
      "x",
      "ab\rc",
      "mid;1;",
      "mid;1;\r",
      "last",
      "ast",
      "",
      "ab\nabc",
    ];
    const want = queries.map((q) => !q.includes("\n") && containsLine(bytes, enc.encode(q)));
    assert.equal(want.filter(Boolean).length, 7); // first, ab, abc, x…, ab\rc, mid;1;\r, last
    const simd = SimdSearcher.create()!;
    for (let chunk = 1; chunk <= text.length + 1; chunk++) {
      for (
        const scanner of [
          new ChunkedLineScanner({ chunkBytes: chunk }),
          new ChunkedLineScanner({
            chunkBytes: chunk,
            alloc: (s) => simd.buffer(s),
            find: simd.findLine,
          }),
          // every query of the read in one pass over the lines, with and without SIMD
          new ChunkedLineScanner({ chunkBytes: chunk, lines: plainLineFilter(), batchFrom: 1 }),
          new ChunkedLineScanner({
            chunkBytes: chunk,
            alloc: (s) => simd.buffer(s),
            lines: simd.lineFilter,
            batchFrom: 1,
          }),
        ]
      ) {
        assert.deepEqual(
          scanner.scan(path, queries.map((q) => enc.encode(q))),
          want,
          `chunk ${chunk}`,
        );
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("SimdSearcher.findLine() drives containsLine() like a plain search on random short lines", () => {
  const simd = SimdSearcher.create()!;
  let seed = 5;
  const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  const alphabet = "01;\n\r";
  const text = Array.from({ length: 20000 }, () => alphabet[Math.floor(rand() * 5)]).join("");
  const bytes = enc.encode(text);
  const hay = simd.buffer(bytes.length);
  hay.set(bytes);
  let hits = 0;
  for (let k = 0; k < 500; k++) {
    const len = 1 + Math.floor(rand() * 5);
    const q = enc.encode(Array.from({ length: len }, () => "01;"[Math.floor(rand() * 3)]).join(""));
    const want = containsLine(bytes, q);
    if (want) hits++;
    assert.equal(containsLine(hay, q, simd.findLine), want, JSON.stringify(q));
  }
  assert.ok(hits > 50 && hits < 450, `a mix of present and absent queries (${hits} present)`);
});

Deno.test("ChunkedLineScanner names a missing file in a SearchFileError", () => {
  assert.throws(
    () => new ChunkedLineScanner().scan("/nonexistent/w.txt", [enc.encode("a")]),
    (err) => {
      assert.ok(err instanceof SearchFileError);
      assert.equal(err.problem, "missing");
      return true;
    },
  );
});

Deno.test("ChunkedLineScanner.scanPart() splits the file so that every line is in exactly one part", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "f.txt");
    const text = "first\r\nab\nabc\r\n\n" + "x".repeat(300) + "\nab\rc\nmid;1;\r\r\nlast\r";
    await Deno.writeTextFile(path, text);
    const queries = ["first", "ab", "abc", "x".repeat(300), "ab\rc", "mid;1;\r", "last", "nope"]
      .map((q) => enc.encode(q));
    const want = [true, true, true, true, true, true, true, false];
    const simd = SimdSearcher.create()!;
    for (const parts of [1, 2, 3, 5, 8, 40, text.length + 3]) {
      for (const chunk of [1, 7, 64, 1000]) {
        const scanners = [
          new ChunkedLineScanner({ chunkBytes: chunk }),
          new ChunkedLineScanner({
            chunkBytes: chunk,
            alloc: (s) => simd.buffer(s),
            lines: simd.lineFilter,
            batchFrom: 1,
          }),
        ];
        for (const scanner of scanners) {
          const hits = queries.map(() => 0);
          const flags = new Int32Array(new SharedArrayBuffer(4 * queries.length));
          const flagged = queries.map(() => false);
          for (let index = 0; index < parts; index++) {
            const { found } = scanner.scanPart(path, queries, { index, of: parts });
            found.forEach((f, i) => f && hits[i]!++);
            const shared = scanner.scanPart(path, queries, { index, of: parts, flags });
            shared.found.forEach((f, i) => f && (flagged[i] = true));
          }
          const label = `${parts} parts, chunk ${chunk}`;
          assert.deepEqual(hits, want.map((w) => (w ? 1 : 0)), label);
          assert.deepEqual(flagged, want, label);
          assert.deepEqual([...flags], want.map((w) => (w ? 1 : 0)), label);
        }
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("ChunkedLineScanner reads every piece page-congruent (destination and file offset agree modulo 4096), whatever lines it carries over", async () => {
  const dir = await Deno.makeTempDir();
  const orig = Deno.FsFile.prototype.readSync;
  try {
    const path = join(dir, "f.txt");
    // lines of 1 to 97 bytes, so that the carried partial line moves the read position every piece
    let text = "";
    for (let i = 0; text.length < 300_000; i++) text += "y".repeat(1 + (i * 37) % 97) + "\n";
    await Deno.writeTextFile(path, text);
    const simd = SimdSearcher.create()!;
    const skew: number[] = [];
    Deno.FsFile.prototype.readSync = function (this: Deno.FsFile, b: Uint8Array) {
      skew.push((((b.byteOffset - this.seekSync(0, Deno.SeekMode.Current)) % 4096) + 4096) % 4096);
      return orig.call(this, b);
    };
    for (const chunk of [4096, 10_000, 65_536]) {
      const scanner = new ChunkedLineScanner({
        chunkBytes: chunk,
        alloc: (size) => simd.buffer(size),
        find: simd.findLine,
      });
      for (const part of [{ index: 0, of: 1 }, { index: 1, of: 3 }]) {
        skew.length = 0;
        assert.deepEqual(scanner.scanPart(path, [enc.encode("absent")], part).found, [false]);
        assert.ok(skew.length >= 2, `${skew.length} reads`);
        assert.deepEqual(
          [...new Set(skew)],
          [0],
          `chunk ${chunk}, part ${part.index}: skews ${skew}`,
        );
      }
    }
  } finally {
    Deno.FsFile.prototype.readSync = orig;
    await Deno.remove(dir, { recursive: true });
  }
});
