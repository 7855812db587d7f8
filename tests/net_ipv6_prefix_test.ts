/**
 * The per-address cap and query's per-source UDP limits count an IPv6
 * client by its /64 (`--ipv6-prefix`), end to end: the CLI runs in a
 * network namespace of its own where `lo` also answers for two /64
 * prefixes, so that one client can send from many addresses of one prefix,
 * as any host holding a /64 can.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  makePki,
  needs,
  ownNetwork,
  queryServeArgs,
  REPO_ROOT,
  runInOwnNetwork,
  tempDir,
} from "./harness/mod.ts";

const CLIENT = `${REPO_ROOT}tests/_python/v6_sources_client.py`;
const UDP_CLIENT = `${REPO_ROOT}tests/_python/udp_v6_sources_client.py`;
const SERVER = "fd00:0:0:7::1";
const SOURCES = ["fd00:0:0:7::a", "fd00:0:0:7::b", "fd00:0:0:7:ffff::c", "fd00:0:0:8::a"];
const netns = await ownNetwork();
if (netns === null) {
  console.error(
    "skipping the IPv6 prefix test: cannot make a network namespace (needs unshare -n or -rn and ip)",
  );
}

/**
 * A namespace script: `lo` up and answering for every address of
 * fd00:0:0:7::/64 and fd00:0:0:8::/64 (bindable before it is added), the
 * server `"$@"` in the background, then `client` (60 s at most).
 */
function withTwoPrefixes(client: string): string {
  return [
    "set -e",
    "ip link set lo up",
    "ip -6 route add local fd00:0:0:7::/64 dev lo",
    "ip -6 route add local fd00:0:0:8::/64 dev lo",
    "echo 1 > /proc/sys/net/ipv6/ip_nonlocal_bind",
    '"$@" &',
    "srv=$!",
    "trap 'kill $srv 2>/dev/null; wait $srv || true' EXIT",
    `timeout 60 ${client}`,
  ].join("\n");
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
  const script = withTwoPrefixes(
    `python3 ${CLIENT} ${SERVER} 44445 --ask apple ${SOURCES.join(" ")}`,
  );
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

/** Replies each source got: 100 UDP queries from each of {@linkcode SOURCES}, interleaved. */
async function udpFromSources(extra: string[]): Promise<Record<string, number>> {
  const script = withTwoPrefixes(`python3 ${UDP_CLIENT} ${SERVER} 9000 100 ${SOURCES.join(" ")}`);
  const serve = queryServeArgs(
    { host: "::", port: 9000, only: "udp" },
    "--udp-replies-per-source",
    "20",
    ...extra,
  );
  const r = await runInOwnNetwork(netns!, script, serve, { cwd: `${REPO_ROOT}fixtures/query` });
  return JSON.parse(r.stdout.trim().split("\n").at(-1)!);
}

/** Replies to the three sources of fd00:0:0:7::/64 together. */
function firstPrefix(replies: Record<string, number>): number {
  return SOURCES.filter((s) => s.startsWith("fd00:0:0:7:")).reduce((n, s) => n + replies[s]!, 0);
}

needs(["python3", "timeout"], "apt install python3 coreutils").test({
  name:
    "query serve --udp-replies-per-source 20 counts IPv6 sources by their /64: three addresses of one /64 share 20 replies a second",
  ignore: netns === null,
  fn: async () => {
    const replies = await udpFromSources([]);
    // One window of 20, or two if the burst straddles a window boundary.
    const shared = firstPrefix(replies);
    // Before: 20 to each address, 60 or more to the /64.
    assert.ok(shared >= 1 && shared <= 40, `fd00:0:0:7::/64 got ${shared} replies of 300`);
    const other = replies["fd00:0:0:8::a"]!;
    assert.ok(other >= 20 && other <= 40, `fd00:0:0:8::a got ${other} replies of 100`);
  },
});

needs(["python3", "timeout"], "apt install python3 coreutils").test({
  name: "query serve --ipv6-prefix 128 gives each IPv6 source address its own UDP replies",
  ignore: netns === null,
  fn: async () => {
    const replies = await udpFromSources(["--ipv6-prefix", "128"]);
    for (const s of SOURCES) {
      assert.ok(replies[s]! >= 20 && replies[s]! <= 40, `${s} got ${replies[s]} replies of 100`);
    }
  },
});

needs(["python3", "timeout"], "apt install python3 coreutils").test({
  name:
    "ingest, broker, query and servercli take --ipv6-prefix: at 48 bits the second /64 of one /48 shares its cap",
  ignore: netns === null,
  fn: async (t) => {
    await using pki = await makePki();
    await using dir = await tempDir("sockkit-v6-");
    const daemons: [string, number, string[]][] = [
      ["ingest", 1191, [
        "ingest",
        "serve",
        "--certs",
        pki.dir,
        "--spool-dir",
        join(dir.path, "spool"),
      ]],
      ["broker", 10673, ["broker", "serve", "--certs", pki.dir, "--dir", join(dir.path, "broker")]],
      ["query", 9000, queryServeArgs({ host: "::", port: 9000, only: "tcp" })],
      ["servercli", 3443, ["servercli", "--certs", pki.dir, "--period", "60"]],
    ];
    for (const [name, port, args] of daemons) {
      await t.step(name, async () => {
        const script = withTwoPrefixes(
          `python3 ${CLIENT} ${SERVER} ${port} ${SOURCES.join(" ")}`,
        );
        const serve = [...args, "--host", "::", "--port", String(port), "--max-per-address", "2"];
        const r = await runInOwnNetwork(netns!, script, [...serve, "--ipv6-prefix", "48"], {
          cwd: `${REPO_ROOT}fixtures/query`,
        });
        // With the default 64 (the flag lost on its way to the listener), fd00:0:0:8::a is held.
        assert.deepEqual(JSON.parse(r.stdout.trim().split("\n").at(-1)!), {
          "fd00:0:0:7::a": "held",
          "fd00:0:0:7::b": "held",
          "fd00:0:0:7:ffff::c": "closed",
          "fd00:0:0:8::a": "closed",
        }, r.stderr);
      });
    }
  },
});
