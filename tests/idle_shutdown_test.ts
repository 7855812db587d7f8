/**
 * After SIGTERM an idle daemon of every kind exits promptly with code 0 (no
 * timer or socket left holding the process), even when the signal comes the
 * moment it says it is listening.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { type CliProcess, makePki, spawnCli, startRedis } from "./harness/mod.ts";

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
  const dir = await Deno.makeTempDir({ prefix: "sockkit-idle-exit-" });
  try {
    await using pki = await makePki({ clients: ["alice"] });
    await using redis = await startRedis();
    const words = join(dir, "words.txt");
    await Deno.writeTextFile(words, "apple\n");
    const daemons: Array<[string, string[], RegExp]> = [
      [
        "ingest",
        [
          "ingest",
          "serve",
          "--host",
          "127.0.0.1",
          "--port",
          "0",
          "--certs",
          pki.dir,
          "--redis",
          redis.url,
          "--spool-dir",
          join(dir, "spool"),
        ],
        /listening on/,
      ],
      [
        "servercli",
        ["servercli", "--host", "127.0.0.1", "--port", "0", "--certs", pki.dir],
        /listening/,
      ],
      [
        "search",
        ["search", "serve", "--file", words, "--host", "127.0.0.1", "--port", "0"],
        /listening on/,
      ],
      [
        "query",
        [
          "query",
          "serve",
          "--data",
          "spec.json",
          "--handler",
          "handler.ts",
          "--host",
          "127.0.0.1",
          "--port",
          "0",
        ],
        /listening/,
      ],
      [
        "broker",
        [
          "broker",
          "serve",
          "--host",
          "127.0.0.1",
          "--port",
          "0",
          "--certs",
          pki.dir,
          "--dir",
          join(dir, "broker"),
        ],
        /listening/,
      ],
    ];
    for (const [name, args, ready] of daemons) {
      await t.step(name, async () => {
        await using proc = spawnCli(args, {
          ...(name === "query"
            ? { cwd: new URL("../fixtures/query", import.meta.url).pathname }
            : {}),
        });
        // SIGTERM the moment the ready line appears: it is logged only once the
        // signal handlers are in place (before: the daemon could die of the signal).
        await proc.waitForLine(ready, 30_000);
        const ms = await exitAfterSigterm(proc);
        assert.ok(ms < BOUND_MS, `${name} took ${Math.round(ms)} ms to exit after SIGTERM`);
      });
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
