/**
 * The README's quick start is a test: its `<!-- quick-start -->` shell blocks
 * run, in order, in one bash shell in a fresh copy of the repository, and
 * what they print is checked. Also checks the README's links and the
 * example config it quotes.
 */
import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { ownNetwork, REPO_ROOT } from "./harness/mod.ts";

const README = await Deno.readTextFile(join(REPO_ROOT, "README.md"));
const MARKER = "<!-- quick-start -->";

/** The shell blocks that follow a quick-start marker, in README order. */
function quickStartBlocks(markdown: string): string[] {
  const blocks: string[] = [];
  const re = /<!-- quick-start -->\n+```(?:bash|sh)\n([\s\S]*?)\n```/g;
  for (const m of markdown.matchAll(re)) blocks.push(m[1]!);
  return blocks;
}

/** GitHub's anchor for a heading. */
function slug(heading: string): string {
  return heading.toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, "").replaceAll(" ", "-");
}

/** Files the repository tracks (a fresh clone's content, with working-tree edits). */
async function trackedFiles(): Promise<string[]> {
  const out = await new Deno.Command("git", {
    args: ["ls-files", "-z", "--cached", "--others", "--exclude-standard"],
    cwd: REPO_ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(
      `git ls-files failed in "${REPO_ROOT}": ${new TextDecoder().decode(out.stderr)}`,
    );
  }
  return new TextDecoder().decode(out.stdout).split("\0").filter((f) => f !== "");
}

async function freshCopy(into: string): Promise<void> {
  for (const file of await trackedFiles()) {
    let info: Deno.FileInfo;
    try {
      info = await Deno.stat(join(REPO_ROOT, file));
    } catch {
      continue; // deleted in the working tree
    }
    await Deno.mkdir(dirname(join(into, file)), { recursive: true });
    await Deno.copyFile(join(REPO_ROOT, file), join(into, file));
    if (info.mode !== null) await Deno.chmod(join(into, file), info.mode & 0o777);
  }
}

function portFree(port: number): boolean {
  try {
    const l = Deno.listen({ hostname: "0.0.0.0", port });
    l.close();
    return true;
  } catch {
    return false;
  }
}

Deno.test("README quick-start blocks run in order in a fresh copy of the repository", async () => {
  const blocks = quickStartBlocks(README);
  assert.ok(blocks.length >= 7, `expected a quick-start block per service, found ${blocks.length}`);
  const script = blocks.join("\n");
  const netns = await ownNetwork();
  if (netns === null) {
    const ports = [
      ...new Set([...script.matchAll(/listening (\d+)/g)].map((m) => Number(m[1]))),
    ];
    for (const port of ports) {
      assert.ok(
        portFree(port),
        `Port ${port} is in use: the README quick start needs it free (stop what listens there)`,
      );
    }
  }
  const dir = await Deno.makeTempDir({ prefix: "sockkit-readme-" });
  await using _cleanup = {
    [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }),
  };
  await freshCopy(dir);
  // The quick start runs as written; the harness only adds strict mode and,
  // whatever happens, stops the background jobs it started.
  const harness = "set -euo pipefail\ntrap 'kill $(jobs -p) 2>/dev/null; wait' EXIT\n";
  await Deno.writeTextFile(join(dir, ".quick_start.sh"), harness + script + "\n");
  // setsid: the script and everything it starts form one process group we can kill.
  // In its own network namespace (when allowed), whose loopback starts down.
  const run = netns === null
    ? ["bash", ".quick_start.sh"]
    : [...netns, "bash", "-c", "ip link set lo up && exec bash .quick_start.sh"];
  const child = new Deno.Command("setsid", {
    args: run,
    cwd: dir,
    env: { NO_COLOR: "1", SOCKKIT_DENO: Deno.execPath() },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timeoutMs = 240_000;
  const timer = setTimeout(() => {
    try {
      Deno.kill(-child.pid, "SIGKILL");
    } catch { /* gone */ }
  }, timeoutMs);
  const out = await child.output().finally(() => clearTimeout(timer));
  try {
    Deno.kill(-child.pid, "SIGKILL"); // anything left over
  } catch { /* none */ }
  const stdout = new TextDecoder().decode(out.stdout);
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, `quick start failed (exit ${out.code})\n${stdout}\n${stderr}`);
  for (
    const expected of [
      "Issued client certificate CN=alice",
      "t-101",
      "reply olleh",
      "reply cba",
      '"data":"hello"',
      "STRING EXISTS",
      "STRING NOT FOUND",
      "Grace Hopper",
      "Ada Lovelace",
    ]
  ) {
    assert.ok(stdout.includes(expected), `quick start output lacks "${expected}":\n${stdout}`);
  }
  // A new operator following the quick start sees no warnings or errors from the servers.
  assert.doesNotMatch(stderr, / (WARN|ERROR) /, stderr);
  assert.ok(
    (await Deno.stat(join(dir, "received", "search", "words.txt"))).isFile,
    "the broker file upload did not arrive",
  );
});

Deno.test("README links point at headings and files that exist", async () => {
  const anchors = new Set(
    [...README.matchAll(/^#{1,6} (.+)$/gm)].map((m) => slug(m[1]!)),
  );
  const links = [...README.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]!);
  assert.ok(links.length > 10);
  for (const link of links) {
    if (/^[a-z]+:/.test(link)) continue;
    const [path, anchor] = link.split("#") as [string, string | undefined];
    if (path === "") {
      assert.ok(anchors.has(anchor!), `README link "${link}" names no heading`);
      continue;
    }
    const stat = await Deno.stat(join(REPO_ROOT, path)).catch(() => undefined);
    assert.ok(stat !== undefined, `README link "${link}" names a file that does not exist`);
  }
});

Deno.test("README quotes fixtures/search/server.conf as it is", async () => {
  const fixture = await Deno.readTextFile(join(REPO_ROOT, "fixtures/search/server.conf"));
  assert.ok(
    README.includes("```ini\n" + fixture.trimEnd() + "\n```"),
    "the server.conf block in README.md differs from fixtures/search/server.conf",
  );
});

Deno.test("README quick start has one marker per block", () => {
  const markers = README.split(MARKER).length - 1;
  assert.equal(markers, quickStartBlocks(README).length, "a quick-start marker without a block");
});
