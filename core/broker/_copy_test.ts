import assert from "node:assert/strict";
import { copyBytes } from "./_copy.ts";

Deno.test("copyBytes() gives copies that stay intact when the source and other copies change", async (t) => {
  for (const size of [0, 1, 100, 1024, 1025, 20_000]) {
    await t.step(`${size} bytes`, () => {
      const src = new Uint8Array(size).map((_, i) => i & 0xff);
      const copies = Array.from({ length: 300 }, () => copyBytes(src));
      const want = src.slice();
      src.fill(0xee);
      for (const c of copies) {
        assert.deepEqual(c, want);
        c.fill(0x11); // writing one copy must not reach the next one in the slab
      }
      for (const c of copies) assert.ok(c.every((b) => b === 0x11));
    });
  }
});
