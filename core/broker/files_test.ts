import assert from "node:assert/strict";
import { join } from "node:path";
import { fileChunks, FileReceiver, MAX_REMEMBERED_REFUSALS, type OnExists } from "./files.ts";

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

/** Descriptors this process holds on files under `dir` (others, opened by the runtime meanwhile, are not counted). */
const openFdsUnder = (dir: string) =>
  [...Deno.readDirSync("/proc/self/fd")].filter((e) => {
    try {
      return Deno.readLinkSync(`/proc/self/fd/${e.name}`).startsWith(dir + "/");
    } catch {
      return false; // closed since it was listed (it was the listing's own descriptor)
    }
  }).length;

Deno.test({
  name:
    "FileReceiver refuses a transfer whose file restarts before it ended, instead of holding a descriptor per chunk",
  ignore: Deno.build.os !== "linux",
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "sockkit-files-" });
    try {
      const rx = new FileReceiver({ files: dir });
      const bytes = new TextEncoder().encode("x");
      const outcomes = [];
      for (let i = 0; i < 200; i++) {
        outcomes.push(
          rx.chunk("files", "mallory", { transfer: "t1", name: "x", offset: 0, size: 9 }, bytes),
        );
      }
      const held = openFdsUnder(dir);
      assert.ok(held <= 1, `descriptors held: ${held}`);
      assert.equal(outcomes[0], undefined, "the first chunk starts the file");
      assert.match(
        (outcomes[1] as { error: string }).error,
        /started before the previous one ended with its sha256/,
      );
      assert.ok(outcomes.slice(2).every((o) => o === undefined), "one error, later chunks ignored");
      rx.close();
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("FileReceiver keeps one sender's transfer apart from another's using the same transfer id", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sockkit-files-" });
  try {
    const rx = new FileReceiver({ files: dir });
    const enc = new TextEncoder();
    const sha = async (s: string) =>
      Array.from(new Uint8Array(await crypto.subtle.digest("SHA-256", enc.encode(s))))
        .map((b) => b.toString(16).padStart(2, "0")).join("");
    const a = "ALICE-PART1ALICE-PART2";
    // alice starts, bob sends a whole file under alice's transfer id, alice finishes
    rx.chunk(
      "files",
      "alice",
      { transfer: "t9", name: "alice.bin", offset: 0, size: 22 },
      enc.encode("ALICE-PART1"),
    );
    const b = rx.chunk("files", "bob", {
      transfer: "t9",
      name: "bob.bin",
      offset: 0,
      size: 3,
      sha256: await sha("BOB"),
      end: true,
    }, enc.encode("BOB"));
    const done = rx.chunk("files", "alice", {
      transfer: "t9",
      name: "alice.bin",
      offset: 11,
      size: 22,
      sha256: await sha(a),
      end: true,
    }, enc.encode("ALICE-PART2"));
    assert.equal(b?.ok, true);
    assert.equal(done?.ok, true, JSON.stringify(done));
    assert.equal(await Deno.readTextFile(join(dir, "alice.bin")), a);
    assert.equal(await Deno.readTextFile(join(dir, "bob.bin")), "BOB");
    rx.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("FileReceiver remembers at most 64 refused transfers per peer, whatever the reason", () => {
  const rx = new FileReceiver({}); // no type mapped: every transfer is refused
  const bytes = new Uint8Array(1);
  const chunk = (peer: string, i: number, offset: number) =>
    rx.chunk("doc", peer, { transfer: `T${i}`, name: "n", offset, size: 2 }, bytes);
  try {
    for (let i = 0; i < 1000; i++) {
      assert.match(
        (chunk("mallory", i, 0) as { error: string }).error,
        /No directory is mapped for file type "doc"/,
      );
    }
    // the first 64 are remembered: their next chunk is ignored; the others are refused again
    for (let i = 0; i < MAX_REMEMBERED_REFUSALS; i++) {
      assert.equal(chunk("mallory", i, 1), undefined, `T${i}`);
    }
    for (const i of [MAX_REMEMBERED_REFUSALS, 500, 999]) {
      assert.equal(chunk("mallory", i, 1)?.ok, false, `T${i}`);
    }
    // another peer has its own allowance
    assert.equal(chunk("alice", 0, 0)?.ok, false);
    assert.equal(chunk("alice", 0, 1), undefined);
  } finally {
    rx.close();
  }
});

Deno.test("FileReceiver refuses a transfer over its byte cap, announced or not, and removes what it had written", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "sockkit-files-" });
  try {
    const rx = new FileReceiver({ files: dir }, { maxTransferBytes: 10 });
    const six = new TextEncoder().encode("123456");
    const leftovers = () => [...Deno.readDirSync(dir)].map((e) => e.name);
    await t.step("a file announced larger is refused at its first chunk", () => {
      const r = rx.chunk(
        "files",
        "mallory",
        { transfer: "a", name: "big", offset: 0, size: 11 },
        six,
      );
      assert.match(
        (r as { error: string }).error,
        /^Cannot store "big": it is 11 bytes, over this receiver's cap of 10 bytes a transfer \(--max-file-size\)/,
      );
      assert.deepEqual(leftovers(), []);
    });
    await t.step(
      "a sender that announces less than it sends is refused once it brings more",
      () => {
        const meta = { transfer: "b", name: "liar", offset: 0, size: 6 };
        assert.equal(rx.chunk("files", "mallory", meta, six), undefined);
        const r = rx.chunk("files", "mallory", { ...meta, offset: 6 }, six);
        assert.match((r as { error: string }).error, /the transfer brought more than that, over/);
        assert.deepEqual(leftovers(), [], "the partial file is removed");
        // its later chunks are ignored, not written
        assert.equal(rx.chunk("files", "mallory", { ...meta, offset: 12 }, six), undefined);
        assert.deepEqual(leftovers(), []);
      },
    );
    await t.step("a directory's files count together", () => {
      const file = (path: string, end = false) => ({
        transfer: "c",
        name: "d",
        offset: 0,
        size: 6,
        dir: true,
        path,
        ...(end ? { end: true } : {}),
      });
      assert.equal(rx.chunk("files", "alice", file("one"), six), undefined);
      const r = rx.chunk("files", "alice", file("two", true), six);
      assert.match((r as { error: string }).error, /the transfer brought more than that/);
      assert.deepEqual(leftovers(), []);
    });
    await t.step("one within the cap is stored", async () => {
      const src = join(dir, "..", `sockkit-small-${crypto.randomUUID()}`);
      await Deno.writeTextFile(src, "0123456789");
      try {
        const r = await deliver(rx, src, "d", "small");
        assert.deepEqual(r && r.ok && r.result.bytes, 10);
        assert.equal(await Deno.readTextFile(join(dir, "small")), "0123456789");
      } finally {
        await Deno.remove(src);
      }
    });
    rx.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
