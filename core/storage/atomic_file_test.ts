import assert from "node:assert/strict";
import { basename, dirname, join } from "node:path";
import { NotDurableError, removeAtomicLeftoversSync, writeFileAtomic } from "./atomic_file.ts";
import { smallDisk, smallDiskSkipped, tempDir } from "../../tests/harness/mod.ts";

const LEFTOVER = /\.tmp$/;

function names(dir: string): string[] {
  return [...Deno.readDirSync(dir)].map((e) => e.name).sort();
}

Deno.test("writeFileAtomic() replaces a file whole: a reader sees the old or the new content, never a part", async () => {
  await using dir = await tempDir("sockkit-atomic-test-");
  const path = join(dir.path, "state.json");
  const a = "a".repeat(1 << 20);
  const b = "b".repeat((1 << 20) - 7);
  await writeFileAtomic(path, a);
  let writing = true;
  const torn: number[] = [];
  let reads = 0;
  const reader = (async () => {
    while (writing) {
      const text = await Deno.readTextFile(path);
      reads++;
      if (text !== a && text !== b) torn.push(text.length);
    }
  })();
  for (let i = 0; i < 40; i++) await writeFileAtomic(path, i % 2 ? a : b);
  writing = false;
  await reader;
  assert.ok(reads > 0);
  assert.deepEqual(torn, [], "the sizes of the parts a reader saw");
  await writeFileAtomic(path, new TextEncoder().encode("short"));
  assert.equal(await Deno.readTextFile(path), "short", "no byte of the longer old content is left");
  assert.deepEqual(names(dir.path), ["state.json"], "no temporary file is left");
});

Deno.test("writeFileAtomic() applies the mode over an existing file's mode and the umask", async () => {
  await using dir = await tempDir("sockkit-atomic-test-");
  const path = join(dir.path, "key.pem");
  await Deno.writeTextFile(path, "old");
  await Deno.chmod(path, 0o666);
  await writeFileAtomic(path, "new");
  assert.equal(Deno.statSync(path).mode! & 0o777, 0o600, "default mode: owner only");
  await writeFileAtomic(path, "public", { mode: 0o644 });
  assert.equal(Deno.statSync(path).mode! & 0o777, 0o644);
  // umask 022 (this process's) would turn a created 0o666 into 0o644
  const open = join(dir.path, "open.txt");
  await writeFileAtomic(open, "x", { mode: 0o666 });
  assert.equal(Deno.statSync(open).mode! & 0o777, 0o666);
});

Deno.test("writeFileAtomic() that fails names the path and the reason and leaves no temporary file", async (t) => {
  await using dir = await tempDir("sockkit-atomic-test-");
  await t.step("the path is a directory: it stays as it was", async () => {
    const path = join(dir.path, "taken");
    Deno.mkdirSync(path);
    Deno.writeTextFileSync(join(path, "inside"), "kept");
    await assert.rejects(
      writeFileAtomic(path, "x"),
      new RegExp(`^Error: Cannot write "${path}": it is a directory \\(remove it or choose`),
    );
    assert.deepEqual(names(dir.path), ["taken"]);
    assert.equal(Deno.readTextFileSync(join(path, "inside")), "kept");
  });
  await t.step("the directory does not exist", async () => {
    const path = join(dir.path, "missing", "file");
    await assert.rejects(
      writeFileAtomic(path, "x", { durable: true }),
      new RegExp(
        `Cannot write "${path}": the directory "${
          join(dir.path, "missing")
        }" does not exist \\(create it first\\)`,
      ),
    );
  });
  await t.step("the disk fills up mid-write: the old file is intact", async (t) => {
    await using disk = await smallDisk(dir.path, "small", 64 * 1024);
    if (!disk) return await smallDiskSkipped(t);
    const path = join(disk.path, "state.json");
    await writeFileAtomic(path, "old content");
    await assert.rejects(
      writeFileAtomic(path, "x".repeat(256 * 1024), { durable: true }),
      new RegExp(`Cannot write "${path}": .*No space left on device`),
    );
    assert.equal(Deno.readTextFileSync(path), "old content");
    assert.deepEqual(names(disk.path), ["state.json"]);
  });
});

Deno.test("writeFileAtomic({ durable }) whose directory sync fails throws a NotDurableError: the file is replaced, no temporary file left", async () => {
  await using dir = await tempDir("sockkit-atomic-test-");
  const path = join(dir.path, "state.json");
  await writeFileAtomic(path, "old");
  const err = await writeFileAtomic(path, "new", {
    durable: true,
    syncDirectory: () => Promise.reject(new Error("Input/output error (os error 5)")),
  }).catch((e) => e);
  assert.ok(err instanceof NotDurableError);
  assert.equal(err.reason, "Input/output error (os error 5)");
  assert.equal(
    err.message,
    `Cannot write "${path}" durably: it was replaced, but syncing its directory failed: Input/output error (os error 5) (a power cut may undo the change)`,
  );
  assert.equal(Deno.readTextFileSync(path), "new");
  assert.deepEqual(names(dir.path), ["state.json"]);
});

Deno.test("writeFileAtomic({ durable }) fdatasyncs the file before the rename and fsyncs the directory after it", async (t) => {
  await using dir = await tempDir("sockkit-atomic-test-");
  const path = join(dir.path, "subscriptions.json");
  await writeFileAtomic(path, "{}", { durable: true });
  assert.equal(Deno.readTextFileSync(path), "{}");
  // What reaches the kernel, seen with strace (one file per thread, ordered by time).
  const trace = join(dir.path, "trace");
  const helper = new URL("./atomic_file.ts", import.meta.url).href;
  const script = `import { writeFileAtomic } from "${helper}"; await writeFileAtomic(${
    JSON.stringify(path)
  }, "{\\"bob\\":[]}", { durable: true });`;
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command("strace", {
      args: [
        "-f",
        "-ff",
        "-ttt",
        "-o",
        trace,
        "-e",
        "trace=openat,fcntl,close,fsync,fdatasync,rename,renameat,renameat2",
        Deno.execPath(),
        "eval",
        script,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
    await t.step({ name: "skipped: strace is not installed", fn: () => {}, ignore: true });
    return;
  }
  if (!out.success && /ptrace|Operation not permitted/.test(new TextDecoder().decode(out.stderr))) {
    await t.step({ name: "skipped: ptrace is not permitted here", fn: () => {}, ignore: true });
    return;
  }
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  assert.equal(Deno.readTextFileSync(path), `{"bob":[]}`);
  const lines = names(dir.path).filter((n) => n.startsWith("trace."))
    .flatMap((n) => Deno.readTextFileSync(join(dir.path, n)).split("\n"))
    .filter((l) => l.trim())
    .sort((x, y) => parseFloat(x) - parseFloat(y));
  assert.deepEqual(syncEvents(lines, path), [
    "open tmp",
    "fdatasync tmp",
    "rename tmp",
    "open dir",
    "fsync dir",
  ]);
});

Deno.test("removeAtomicLeftoversSync() removes only the leftovers of the targets asked for", async () => {
  await using dir = await tempDir("sockkit-atomic-test-");
  const uuid = crypto.randomUUID();
  for (
    const n of [
      "head",
      `.head.${uuid}.tmp`,
      `.job.handed.${uuid}.tmp`,
      `.other.${uuid}.tmp`,
      "head.tmp",
      ".head.not-a-uuid.tmp",
    ]
  ) {
    Deno.writeTextFileSync(join(dir.path, n), "x");
  }
  Deno.mkdirSync(join(dir.path, `.head.${crypto.randomUUID()}.tmp`)); // not a file: not ours
  const removed = removeAtomicLeftoversSync(dir.path, (t) => t === "head" || t.endsWith(".handed"));
  assert.deepEqual(removed.sort(), [`.head.${uuid}.tmp`, `.job.handed.${uuid}.tmp`]);
  const left = names(dir.path);
  assert.equal(left.length, 5);
  assert.ok(left.includes("head") && left.includes(`.other.${uuid}.tmp`));
  assert.ok(left.filter((n) => LEFTOVER.test(n)).length === 4);
  assert.deepEqual(removeAtomicLeftoversSync(join(dir.path, "missing"), () => true), []);
  // legacy: also the fixed TARGET.tmp of earlier versions, still only for the targets asked for
  Deno.writeTextFileSync(join(dir.path, "job.handed.tmp"), "x");
  Deno.writeTextFileSync(join(dir.path, "notes.tmp"), "x");
  const legacy = removeAtomicLeftoversSync(dir.path, (t) => t === "head" || t.endsWith(".handed"), {
    legacy: true,
  });
  assert.deepEqual(legacy.sort(), ["head.tmp", "job.handed.tmp"]);
  assert.ok(names(dir.path).includes("notes.tmp") && names(dir.path).includes("head"));
});

/**
 * The calls of an strace (time-ordered lines) on the temporary file of `path`
 * and on its directory, following the descriptors Deno duplicates for its
 * blocking threads (`fcntl(F_DUPFD_CLOEXEC)`).
 */
function syncEvents(lines: string[], path: string): string[] {
  const dir = dirname(path);
  const tmp = new RegExp(`^${dir}/\\.${basename(path)}\\.[0-9a-f-]{36}\\.tmp$`);
  const fds = new Map<string, string>();
  const events: string[] = [];
  for (const l of lines) {
    const call = /^[\d.]+ (\w+)\((.*)\) += (-?\d+)/.exec(l);
    if (!call || call[3]!.startsWith("-")) continue;
    const [, name, args, ret] = call as unknown as [string, string, string, string];
    const first = /^(\w+|"[^"]*")/.exec(args)?.[1] ?? "";
    if (name === "openat") {
      const file = /^AT_FDCWD, "([^"]*)"/.exec(args)?.[1] ?? "";
      const what = tmp.test(file) ? "tmp" : file === dir ? "dir" : undefined;
      if (what) {
        fds.set(ret, what);
        events.push(`open ${what}`);
      } else fds.delete(ret);
    } else if (name === "fcntl" && args.includes("F_DUPFD")) {
      const what = fds.get(first);
      if (what) fds.set(ret, what);
      else fds.delete(ret);
    } else if (name === "close") fds.delete(first);
    else if (name === "fsync" || name === "fdatasync") {
      const what = fds.get(first);
      if (what) events.push(`${name} ${what}`);
    } else if (name.startsWith("rename")) {
      const [from, to] = [...args.matchAll(/"([^"]*)"/g)].map((m) => m[1]);
      if (from && tmp.test(from) && to === path) events.push("rename tmp");
    }
  }
  return events;
}
