/**
 * The per-address cap counts an IPv6 client by its /64 (`--ipv6-prefix`),
 * end to end: `search serve` runs in a network namespace of its own where
 * `lo` also answers for two /64 prefixes, so that one client can connect
 * from many addresses of one prefix, as any host holding a /64 can.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { needs, ownNetwork, REPO_ROOT, runInOwnNetwork, tempDir } from "./harness/mod.ts";

const CLIENT = `${REPO_ROOT}tests/_python/v6_sources_client.py`;
const SERVER = "fd00:0:0:7::1";
const SOURCES = ["fd00:0:0:7::a", "fd00:0:0:7::b", "fd00:0:0:7:ffff::c", "fd00:0:0:8::a"];
const netns = await ownNetwork();
if (netns === null) {
  console.error(
    "skipping the IPv6 prefix test: cannot make a network namespace (needs unshare -n or -rn and ip)",
  );
}

/**
 * Runs `search serve --max-per-address 2 EXTRA` on [::]:44445 in a fresh
 * namespace and connects from each of {@linkcode SOURCES} in turn, holding
 * each connection; returns the reply each got ("" = closed unanswered) and
 * the server's log.
 */
async function connectFromSources(extra: string[]): Promise<{
  replies: Record<string, string>;
  log: string;
}> {
  await using dir = await tempDir("sockkit-v6-");
  const file = join(dir.path, "words.txt");
  await Deno.writeTextFile(file, "apple\n");
  const script = [
    "set -e",
    "ip link set lo up",
    // Every address of these prefixes is this host's, and may be bound before it is added.
    "ip -6 route add local fd00:0:0:7::/64 dev lo",
    "ip -6 route add local fd00:0:0:8::/64 dev lo",
    "echo 1 > /proc/sys/net/ipv6/ip_nonlocal_bind",
    '"$@" &',
    "srv=$!",
    "trap 'kill $srv 2>/dev/null; wait $srv || true' EXIT",
    `timeout 60 python3 ${CLIENT} ${SERVER} 44445 ${SOURCES.join(" ")}`,
  ].join("\n");
  const r = await runInOwnNetwork(netns!, script, [
    "search",
    "serve",
    "--file",
    file,
    "--host",
    "::",
    "--port",
    "44445",
    "--max-per-address",
    "2",
    ...extra,
  ]);
  return { replies: JSON.parse(r.stdout.trim().split("\n").at(-1)!), log: r.stderr };
}

needs(["python3", "timeout"], "apt install python3 coreutils").test({
  name:
    "search serve --max-per-address 2 counts IPv6 clients by their /64: a third address of one /64 is refused, another /64 is served",
  ignore: netns === null,
  fn: async () => {
    const { replies, log } = await connectFromSources([]);
    assert.deepEqual(replies, {
      "fd00:0:0:7::a": "STRING EXISTS",
      "fd00:0:0:7::b": "STRING EXISTS",
      // Before: counted one address at a time, so served; one /64 could hold any number.
      "fd00:0:0:7:ffff::c": "",
      "fd00:0:0:8::a": "STRING EXISTS",
    });
    assert.match(
      log,
      /refused client svc=search peer="\[fd00::7:ffff:0:0:c\]:\d+" reason="too many connections from \\"fd00:0:0:7::\/64\\": 2 open, the per-address cap is 2 \(IPv6 addresses count by their first 64 bits, --ipv6-prefix\)/,
    );
  },
});

needs(["python3", "timeout"], "apt install python3 coreutils").test({
  name: "search serve --ipv6-prefix 128 counts each IPv6 address apart",
  ignore: netns === null,
  fn: async () => {
    const { replies } = await connectFromSources(["--ipv6-prefix", "128"]);
    assert.deepEqual(replies, Object.fromEntries(SOURCES.map((s) => [s, "STRING EXISTS"])));
  },
});
