import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { type DemoContext, runDemo } from "../core/demo/mod.ts";
import { certPaths } from "../core/pki/mod.ts";
import { runCli } from "./harness/mod.ts";

async function refusesConnections(port: number): Promise<boolean> {
  try {
    (await Deno.connect({ hostname: "127.0.0.1", port })).close();
    return false;
  } catch (err) {
    return err instanceof Deno.errors.ConnectionRefused;
  }
}

Deno.test("sockkit demo runs every step, prints ✓ lines and exits 0", async () => {
  const { code, stdout, stderr } = await runCli(["demo"]);
  assert.equal(code, 0, stderr);
  assert.match(stdout, /^✓ certs \(\d+\.\ds\)$/m);
  assert.match(stdout, /alice accepted as CN=alice, sha256 [0-9a-f]{16}…/);
  assert.match(stdout, /revoked client mallory refused: /);
  assert.match(stdout, /^(\d+) of \1 steps passed; temporary files and processes removed$/m);
});

Deno.test("sockkit demo --only rejects an unknown step with exit code 2", async () => {
  const { code, stderr } = await runCli(["demo", "--only", "nope"]);
  assert.equal(code, 2);
  assert.match(
    stderr,
    /^sockkit: Invalid value for --only: unknown step "nope" \(expected some of certs/,
  );
});

Deno.test("runDemo gives steps certificates and a lazy private redis, and cleans up after failures", async () => {
  let seen: { dir: string; port: number } | undefined;
  const results = await runDemo([
    {
      name: "uses redis",
      async run(ctx: DemoContext) {
        const url = await ctx.redisUrl();
        assert.equal(await ctx.redisUrl(), url, "one redis per demo");
        const port = Number(new URL(url).port);
        const conn = await Deno.connect({ hostname: "127.0.0.1", port });
        await conn.write(new TextEncoder().encode("PING\r\n"));
        const buf = new Uint8Array(16);
        const n = await conn.read(buf);
        conn.close();
        seen = { dir: ctx.dir, port };
        const p = certPaths(ctx.certsDir);
        assert.ok(
          existsSync(p.ca) && existsSync(p.clientCert("alice")) && existsSync(p.clientKey("bob")),
        );
        return [new TextDecoder().decode(buf.subarray(0, n ?? 0)).trim()];
      },
    },
    { name: "fails", run: () => Promise.reject(new Error("service did not answer")) },
    { name: "still runs", run: () => Promise.resolve(["after a failure"]) },
  ]);
  assert.deepEqual(
    results.map((r) => [r.name, r.ok, r.lines, r.error]),
    [
      ["uses redis", true, ["+PONG"], undefined],
      ["fails", false, [], "service did not answer"],
      ["still runs", true, ["after a failure"], undefined],
    ],
  );
  assert.ok(seen);
  assert.equal(existsSync(seen.dir), false, "the temp dir is removed");
  assert.ok(await refusesConnections(seen.port), "the private redis is stopped");
});

Deno.test("runDemo fails a step that runs out of time and aborts its signal", async () => {
  let aborted = false;
  const results = await runDemo([{
    name: "hangs",
    run: (ctx) =>
      new Promise((_, reject) =>
        ctx.signal.addEventListener("abort", () => {
          aborted = true;
          reject(new Error("aborted"));
        })
      ),
  }], { stepTimeoutMs: 50 });
  assert.equal(results[0]?.ok, false);
  assert.equal(results[0]?.error, "timed out after 50 ms");
  assert.ok(aborted);
});

Deno.test("runDemo stops at an interruption and still cleans up", async () => {
  const ctl = new AbortController();
  let dir = "";
  const results = await runDemo([
    {
      name: "interrupted",
      run: (ctx) => {
        dir = ctx.dir;
        ctl.abort("SIGINT");
        return new Promise(() => {}); // never settles on its own
      },
    },
    { name: "never runs", run: () => Promise.resolve(["no"]) },
  ], { signal: ctl.signal });
  assert.deepEqual(results.map((r) => [r.name, r.ok, r.error]), [
    ["interrupted", false, "interrupted (SIGINT)"],
  ]);
  assert.equal(existsSync(dir), false);
});
