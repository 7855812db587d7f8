import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { type CliResult, REPO_ROOT, runCommand } from "./harness/mod.ts";

const LAUNCHER = join(REPO_ROOT, "sockkit");
/** A PATH with the system tools but no deno on it. */
const PATH_WITHOUT_DENO = (Deno.env.get("PATH") ?? "").split(":")
  .filter((d) => !d.includes(".tools/deno") && !d.includes(".deno/bin"))
  .join(":");

/** Runs `program ARGS` from / with only PATH_WITHOUT_DENO and NO_COLOR set. */
function launch(program: string, args: string[]): Promise<CliResult> {
  return runCommand(program, args, {
    cwd: "/",
    env: { PATH: PATH_WITHOUT_DENO, NO_COLOR: "1" },
    clearEnv: true,
  });
}

Deno.test("the launcher runs from any directory with the project's Deno and passes exit codes", async (t) => {
  await t.step("--print-deno names the pinned Deno", async () => {
    const r = await launch(LAUNCHER, ["--print-deno"]);
    assert.equal(r.code, 0);
    const deno = r.stdout.trim();
    const version = await new Deno.Command(deno, { args: ["--version"], stdout: "piped" }).output();
    assert.match(new TextDecoder().decode(version.stdout), /^deno 2\.9\.6 /);
  });
  await t.step("a second run (--help) exits 0 without installing Deno again", async () => {
    const r = await launch(LAUNCHER, ["--help"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Usage: sockkit/);
    assert.doesNotMatch(r.stderr, /installing Deno/);
  });
  await t.step("an unknown option exits 2", async () => {
    const r = await launch(LAUNCHER, ["--bogus"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown option '--bogus'/);
  });
  await t.step("--deno runs Deno in the project directory", async () => {
    const r = await launch(LAUNCHER, ["--deno", "eval", "console.log(Deno.cwd())"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), dirname(LAUNCHER));
  });
  await t.step("it works through a symlink", async () => {
    const dir = await Deno.makeTempDir();
    try {
      await Deno.symlink(LAUNCHER, join(dir, "sockkit"));
      const r = await launch(join(dir, "sockkit"), ["--version"]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^\d+\.\d+\.\d+\n$/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
});
