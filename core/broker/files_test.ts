import assert from "node:assert/strict";
import { join } from "node:path";
import { fileChunks, FileReceiver, type OnExists } from "./files.ts";

/** Sends `path` (stored as `name`) into `rx` chunk by chunk; returns the outcome of the last chunk. */
async function deliver(rx: FileReceiver, path: string, transfer: string, name?: string) {
  let out;
  for await (const c of fileChunks(path, transfer, name)) {
    out = rx.chunk("files", "alice", c.meta, c.bytes);
  }
  return out;
}

Deno.test("FileReceiver stores a taken name as --on-exists says: rename, overwrite or refuse", async (t) => {
  const tmp = await Deno.makeTempDir({ prefix: "sockkit-files-" });
  try {
    const src = join(tmp, "report.txt");
    await Deno.writeTextFile(src, "new");
    for (
      const [policy, expect] of [
        ["rename", { path: "report.txt.1", old: "old" }],
        ["overwrite", { path: "report.txt", old: "new" }],
        ["refuse", { error: /already exists and this receiver refuses to replace it/, old: "old" }],
      ] as Array<[OnExists, { path?: string; error?: RegExp; old: string }]>
    ) {
      await t.step(policy, async () => {
        const dir = join(tmp, policy);
        await Deno.mkdir(dir);
        await Deno.writeTextFile(join(dir, "report.txt"), "old");
        const rx = new FileReceiver({ files: dir }, { onExists: policy });
        const r = await deliver(rx, src, `t-${policy}`);
        if (expect.path) {
          assert.deepEqual(r, {
            ok: true,
            result: { path: join(dir, expect.path), bytes: 3, files: 1, dir: false },
          });
          assert.equal(await Deno.readTextFile(join(dir, expect.path)), "new");
        } else {
          assert.equal(r?.ok, false);
          assert.match((r as { error: string }).error, expect.error!);
        }
        assert.equal(await Deno.readTextFile(join(dir, "report.txt")), expect.old);
        // nothing half-written is left behind
        const names = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
        assert.ok(names.every((n) => !n.startsWith(".sockkit-partial")), names.join(","));
        rx.close();
      });
    }
    await t.step("overwrite replaces a directory of the same name", async () => {
      const dir = join(tmp, "dirs");
      await Deno.mkdir(join(dir, "tree"), { recursive: true });
      await Deno.writeTextFile(join(dir, "tree", "stale.txt"), "stale");
      const tree = join(tmp, "tree");
      await Deno.mkdir(tree);
      await Deno.writeTextFile(join(tree, "a.txt"), "a");
      const rx = new FileReceiver({ files: dir }, { onExists: "overwrite" });
      const r = await deliver(rx, tree, "t-dir");
      assert.equal(r?.ok, true);
      assert.deepEqual([...Deno.readDirSync(join(dir, "tree"))].map((e) => e.name), ["a.txt"]);
    });
    await t.step("a name given by the sender is stored instead of the source's", async () => {
      const dir = join(tmp, "named");
      const rx = new FileReceiver({ files: dir });
      const r = await deliver(rx, src, "t-named", "2026-report.txt");
      assert.equal(r?.ok, true);
      assert.equal(await Deno.readTextFile(join(dir, "2026-report.txt")), "new");
    });
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
