import assert from "node:assert/strict";
import { join } from "node:path";
import { watchFile } from "./file_watch.ts";
import { delay } from "../async/mod.ts";

Deno.test("watchFile() reports a change of the file, debounced, and not of its neighbours", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = join(dir, "words.txt");
    await Deno.writeTextFile(file, "a\n");
    let changes = 0;
    let seen: () => void = () => {};
    {
      using watch = watchFile(file, () => {
        changes++;
        seen();
      }, { debounceMs: 30, pollMs: 600_000 });
      await watch.ready;
      await delay(100);
      changes = 0; // the one look taken when the watch became ready
      // Unrelated files in the same directory are filtered out in the worker.
      await Deno.writeTextFile(join(dir, "other.txt"), "x\n");
      await delay(300);
      assert.equal(changes, 0);
      const got = new Promise<void>((r) => seen = r);
      for (let i = 0; i < 5; i++) await Deno.writeTextFile(file, `b${i}\n`, { append: true });
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        got,
        new Promise((_, reject) =>
          timer = setTimeout(() => reject(new Error("no change reported within 5 s")), 5000)
        ),
      ]).finally(() => clearTimeout(timer));
      await delay(150);
      assert.equal(changes, 1, "five quick writes coalesce into one report");
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
