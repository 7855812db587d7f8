/**
 * After SIGTERM an idle daemon of every kind exits promptly with code 0 (no
 * timer or socket left holding the process), even when the signal comes the
 * moment it says it is listening.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  type CliOptions,
  type CliProcess,
  makePki,
  startDaemon,
  startRedis,
  tempDir,
} from "./harness/mod.ts";

/** A bound that catches a leftover 2 s timer with a wide margin on a loaded machine. */
const BOUND_MS = 1500;

async function exitAfterSigterm(proc: CliProcess): Promise<number> {
  const started = performance.now();
  proc.kill("SIGTERM");
  const status = await proc.status;
  const ms = performance.now() - started;
  assert.equal(status.code, 0, proc.stderrText());
  return ms;
}

Deno.test("an idle daemon of every kind exits within 1.5 s of SIGTERM", async (t) => {
  await using tmp = await tempDir("sockkit-idle-exit-");
  const dir = tmp.path;
  await using pki = await makePki({ clients: ["alice"] });
  await using redis = await startRedis();
  const words = join(dir, "words.txt");
  await Deno.writeTextFile(words, "apple\n");
  const daemons: Array<[string, string[], CliOptions]> = [
    [
      "ingest",
      [
        "ingest",
        "serve",
        "--certs",
        pki.dir,
        "--redis",
        redis.url,
        "--spool-dir",
        join(dir, "spool"),
      ],
      {},
    ],
    ["servercli", ["servercli", "--certs", pki.dir], {}],
    ["search", ["search", "serve", "--file", words], {}],
    [
      "query",
      ["query", "serve", "--data", "spec.json", "--handler", "handler.ts"],
      { cwd: new URL("../fixtures/query", import.meta.url).pathname },
    ],
    ["broker", ["broker", "serve", "--certs", pki.dir, "--dir", join(dir, "broker")], {}],
  ];
  for (const [name, args, options] of daemons) {
    await t.step(name, async () => {
      // SIGTERM the moment the listening line appears: it is logged only once the
      // signal handlers are in place (before: the daemon could die of the signal).
      await using proc = await startDaemon(args, options);
      const ms = await exitAfterSigterm(proc);
      assert.ok(ms < BOUND_MS, `${name} took ${Math.round(ms)} ms to exit after SIGTERM`);
    });
  }
});
