import assert from "node:assert/strict";
import { join } from "node:path";
import { FileBytesReader, readFileBytes, SearchFileError } from "./file_bytes.ts";
import { SimdSearcher } from "./simd_search.ts";

Deno.test("FileBytesReader reads files larger than its buffer, plain or into WebAssembly memory", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const small = join(dir, "small.txt");
    const big = join(dir, "big.txt");
    await Deno.writeTextFile(small, "abc\n");
    const text = "line\n".repeat(100_000);
    await Deno.writeTextFile(big, text);
    const simd = SimdSearcher.create()!;
    for (
      const reader of [
        new FileBytesReader(),
        new FileBytesReader((size) => simd.buffer(size)),
      ]
    ) {
      assert.equal(new TextDecoder().decode(reader.read(small)), "abc\n");
      assert.equal(reader.read(big).length, text.length);
      assert.equal(new TextDecoder().decode(reader.read(small)), "abc\n");
    }
    const own = readFileBytes(big);
    assert.equal(own.bytes.length, text.length);
    assert.equal(own.bytes.buffer.byteLength, text.length);
    assert.equal(own.version.size, text.length);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("FileBytesReader names a missing file or a directory in a SearchFileError", async () => {
  const reader = new FileBytesReader();
  assert.throws(() => reader.read("/nonexistent/words.txt"), (err) => {
    assert.ok(err instanceof SearchFileError);
    assert.equal(err.problem, "missing");
    assert.match(err.message, /Cannot read search file "\/nonexistent\/words.txt": file not found/);
    return true;
  });
  const dir = await Deno.makeTempDir();
  try {
    assert.throws(() => reader.read(dir), /it is a directory/);
  } finally {
    await Deno.remove(dir);
  }
});
