/**
 * `deno task bench --growth` run for real in a tiny configuration: every
 * service's own bench at two small sizes, through the launcher.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { REPO_ROOT, runCommand, tempDir } from "./harness/mod.ts";

function growth(args: string[]) {
  return runCommand(
    Deno.execPath(),
    ["run", "--allow-all", join(REPO_ROOT, "tools/bench.ts"), "--growth", ...args],
    { cwd: REPO_ROOT },
  );
}

Deno.test("bench --growth measures every service at each size and writes one table and one SVG chart", async () => {
  await using tmp = await tempDir("sockkit-growth-test-");
  const dir = tmp.path;
  const r = await growth([
    "--search-lines",
    "200,2000",
    "--search-queries",
    "6",
    "--broker-connectors",
    "1,2",
    "--broker-messages",
    "1000",
    "--servercli-clients",
    "4,8",
    "--ingest-clients",
    "1,2",
    "--ingest-objects",
    "400",
    "--out",
    dir,
  ]);
  assert.equal(r.code, 0, r.stderr.slice(-2000));
  const table = r.stdout.split("\n");
  assert.match(table[0]!, /^measure\s+work\s+value\s+work ×\s+value ×\s+anchor\s+ideal$/);
  const row = (re: RegExp) => {
    const line = table.find((l) => re.test(l));
    assert.ok(line, `no row matching ${re} in:\n${r.stdout}`);
    return line;
  };
  for (
    const re of [
      /^search reread p50 \(as served\)\s+200 lines\s+[\d.]+ ms\s+1\.00×\s+1\.00×\s+grep -Fxq [\d.]+ ms/,
      /^search reread p50 \(as served\)\s+2,000 lines\s+[\d.]+ ms\s+10×/,
      /^broker messages\/s one way\s+1 client connector\s+[\d,]+ msg\/s/,
      /^broker messages\/s one way\s+2 client connectors\s+[\d,]+ msg\/s\s+2\.00×/,
      /^servercli RSS per connection\s+8 clients\s+[\d.]+ KiB\s+2\.00×/,
      /^ingest objects\/s stored\s+2 clients\s+[\d,]+ obj\/s\s+2\.00×/,
    ]
  ) row(re);
  assert.doesNotMatch(r.stdout, /problem:/);
  const data = JSON.parse(await Deno.readTextFile(join(dir, "growth.json")));
  assert.equal(data.points.length, 8);
  for (const p of data.points) {
    assert.ok(p.value > 0 && Number.isFinite(p.value), JSON.stringify(p));
  }
  const svg = await Deno.readTextFile(join(dir, "growth.svg"));
  assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  assert.equal(svg.split('<g class="panel"').length - 1, 4);
  // sockkit's line in every panel, grep's beside it in the search panel
  assert.equal((svg.match(/<polyline/g) ?? []).length, 5);
  assert.match(svg, /<title>grep -Fxq \(ms\)<\/title>/);
});

Deno.test("bench --growth rejects an unknown option or a bad size with exit code 2", async () => {
  const bad = await growth(["--search-lines", "10,x"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /invalid --search-lines "10,x": expected positive integers/);
  const unknown = await growth(["--lines", "10"]);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown option "--lines": expected --out or one of --search-lines/);
});
