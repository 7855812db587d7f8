import assert from "node:assert/strict";
import { join } from "node:path";
import { type CliResult, runCli } from "./harness/mod.ts";

async function withConfig(text: string, name = "daemon.conf") {
  const dir = await Deno.makeTempDir({ prefix: "sockkit-config-" });
  const path = join(dir, name);
  await Deno.writeTextFile(path, text);
  return {
    path,
    [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }),
  };
}

Deno.test("a config file with an unclosed section header is a parse error naming file and line, exit 2", async () => {
  await using f = await withConfig('# conf\n[daemon\nhost = "127.0.0.1"\nport = 21200\n');
  const r = await runCli(["ingest", "--config", f.path], { timeoutMs: 30_000 });
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /Cannot parse config file ".*daemon\.conf"/);
  assert.match(r.stderr, /line 2/);
  assert.match(r.stderr, /unclosed section header/);
});

Deno.test("a config file with an unclosed quote is a parse error naming file and line, exit 2", async () => {
  await using f = await withConfig('[servercli]\nhost = "127.0.0.1\nport = 21200\n', "server.conf");
  const r = await runCli(["servercli", "--config", f.path], { timeoutMs: 30_000 });
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /line 2/);
  assert.match(r.stderr, /unclosed quote in the value of "host"/);
  assert.doesNotMatch(r.stderr, /Cannot listen/);
});

Deno.test("a .toml config file that is not TOML says so with line and column, exit 2", async () => {
  await using f = await withConfig("[query]\nport = 9000 9001\n", "query.toml");
  const r = await runCli(["query", "serve", "--config", f.path], { timeoutMs: 30_000 });
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /as TOML: line 2, column \d+/);
});

/** Runs `servercli --config FILE` with a certificate directory that does not exist (it stops there). */
function servercliWithoutCerts(config: string): Promise<CliResult> {
  return runCli(["servercli", "--config", config, "--certs", "/nonexistent-certs"], {
    timeoutMs: 30_000,
  });
}

Deno.test("unknown keys in a section sockkit owns are warnings naming the nearest known key", async () => {
  await using f = await withConfig(
    "[servercli]\nprot = 3443\nmax_client = 5\n[other]\nanything = 1\n",
    "server.conf",
  );
  const r = await servercliWithoutCerts(f.path);
  assert.match(r.stderr, /WARN.*Unknown key "prot" in section \[servercli\].*did you mean "port"/);
  assert.match(r.stderr, /Unknown key "max_client".*did you mean "max_clients"/);
  assert.doesNotMatch(r.stderr, /anything/);
});

Deno.test("an INI-style config file (bare keys, unquoted values) is still read as INI", async () => {
  await using f = await withConfig(
    "legacy_flag\napp=inventory\n[servercli]\nport = 0\nhost = 127.0.0.1\n",
    "server.conf",
  );
  // It gets past config (a missing certificate directory is the next error).
  const r = await servercliWithoutCerts(f.path);
  assert.doesNotMatch(r.stderr, /Cannot parse config file/);
  assert.match(r.stderr, /nonexistent-certs/);
});
