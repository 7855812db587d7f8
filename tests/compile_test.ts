import assert from "node:assert/strict";
import { join } from "node:path";
import { denortUrl, findWorkerModules, launcherPermissions, ROOT } from "../tools/compile.ts";

async function run(env: Record<string, string>): Promise<{ code: number; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["task", "--quiet", "compile"],
    cwd: ROOT,
    env: { NO_COLOR: "1", ...env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(30_000),
  }).output();
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
}

/** Whether this machine can download denort (then the no-denort test cannot run). */
async function denortDownloadable(): Promise<boolean> {
  try {
    const res = await fetch(denortUrl(), { method: "HEAD", signal: AbortSignal.timeout(3000) });
    await res.body?.cancel();
    return res.ok;
  } catch {
    return false;
  }
}

Deno.test({
  name:
    "deno task compile without DENORT_BIN or downloads fails with one line saying how to fix it",
  ignore: await denortDownloadable(),
  async fn() {
    const denoDir = await Deno.makeTempDir({ prefix: "sockkit-denodir-" });
    try {
      // An empty DENO_DIR so a previously downloaded denort in the cache does not count.
      const { code, stderr } = await run({ DENORT_BIN: "", DENO_DIR: denoDir });
      assert.notEqual(code, 0);
      assert.equal(
        stderr,
        `deno compile needs Deno's denort runtime: set DENORT_BIN to a denort ${Deno.version.deno} binary (the full deno binary does not work), or allow downloads from dl.deno.land\n`,
      );
    } finally {
      await Deno.remove(denoDir, { recursive: true });
    }
  },
});

Deno.test("deno task compile rejects a DENORT_BIN that is not a file in one line", async () => {
  const { code, stderr } = await run({ DENORT_BIN: "/nonexistent/denort" });
  assert.equal(code, 1);
  assert.equal(
    stderr,
    `DENORT_BIN "/nonexistent/denort" is not a file: set it to a denort ${Deno.version.deno} binary\n`,
  );
});

Deno.test("findWorkerModules lists every *_worker.ts under core/", async () => {
  const root = await Deno.makeTempDir();
  try {
    await Deno.mkdir(join(root, "core", "a", "deep"), { recursive: true });
    await Deno.writeTextFile(join(root, "core", "a", "x_worker.ts"), "");
    await Deno.writeTextFile(join(root, "core", "a", "deep", "y_worker.ts"), "");
    await Deno.writeTextFile(join(root, "core", "a", "worker_helper.ts"), "");
    assert.deepEqual(await findWorkerModules(root), [
      "core/a/deep/y_worker.ts",
      "core/a/x_worker.ts",
    ]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("the binary gets the launcher's permissions", async () => {
  const flags = await launcherPermissions();
  assert.ok(flags.includes("--allow-net"));
  assert.ok(flags.every((f) => /^--allow-[a-z]+$/.test(f)));
});
