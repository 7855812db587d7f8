import assert from "node:assert/strict";
import { runCommand } from "./command.ts";

Deno.test("runCommand returns a program's exit code and output, in its directory and environment", async () => {
  const r = await runCommand("/bin/sh", [
    "-c",
    'pwd; echo "$ONLY" "${HOME:-unset}"; echo oops >&2; exit 3',
  ], {
    cwd: "/",
    env: { ONLY: "this" },
    clearEnv: true,
  });
  assert.deepEqual(r, { code: 3, stdout: "/\nthis unset\n", stderr: "oops\n" });
});
