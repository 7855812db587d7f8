/**
 * The UDP reply limits per remote source address (`--udp-replies-per-source`,
 * `--udp-reply-bytes-per-source`),
 * end to end: the CLI runs in a network namespace of its own where `lo` also
 * carries 10.77.0.1, a non-loopback address, so a client can send from a
 * remote-looking source without leaving the host.
 */
import assert from "node:assert/strict";
import { needs, ownNetwork, queryServeArgs, REPO_ROOT, runInOwnNetwork } from "./harness/mod.ts";

const REMOTE = "10.77.0.1";
const CLIENT = `${REPO_ROOT}tests/_python/udp_burst_client.py`;
const netns = await ownNetwork();
if (netns === null) {
  console.error(
    "skipping the UDP source-rate test: cannot make a network namespace (needs unshare -n or -rn and ip)",
  );
}

/** What the burst client saw: replies and their bytes per source, and the server's drop counts. */
interface Burst {
  replies: Record<string, number>;
  bytes: Record<string, number>;
  source_rate: number;
  source_bytes: number;
}

/** Runs `query serve EXTRA` (UDP on 9000, metrics on 9100) and the burst client in a fresh namespace. */
async function burst(
  extra: string[],
): Promise<Burst> {
  const script = [
    "set -e",
    "ip link set lo up",
    `ip addr add ${REMOTE}/32 dev lo`,
    '"$@" &',
    "srv=$!",
    "trap 'kill $srv 2>/dev/null; wait $srv || true' EXIT",
    `timeout 60 python3 ${CLIENT} 9000 9100 100 ${REMOTE} 127.0.0.1`,
  ].join("\n");
  const serve = queryServeArgs(
    { host: "0.0.0.0", port: 9000, only: "udp" },
    "--metrics-host",
    "127.0.0.1",
    "--metrics-port",
    "9100",
    ...extra,
  );
  const r = await runInOwnNetwork(netns!, script, serve, { cwd: `${REPO_ROOT}fixtures/query` });
  return JSON.parse(r.stdout.trim().split("\n").at(-1)!);
}

needs(["python3", "timeout"], "apt install python3 coreutils").test({
  name:
    "query serve --udp-replies-per-source 20 answers a remote address about 20 of 100 queries in a second and loopback all",
  ignore: netns === null,
  fn: async () => {
    const got = await burst(["--udp-replies-per-source", "20"]);
    const remote = got.replies[REMOTE]!;
    // One window of 20, or two if the burst's answers straddle a window boundary.
    assert.ok(
      remote >= 1 && remote <= 40,
      `${REMOTE} got ${remote} replies of 100, expected 20 (at most 40)`,
    );
    assert.equal(got.replies["127.0.0.1"], 100, "loopback is not limited");
    assert.ok(got.source_rate >= 60, `source_rate drops ${got.source_rate}, expected at least 60`);
  },
});

needs(["python3", "timeout"], "apt install python3 coreutils").test({
  name: "query serve --udp-replies-per-source 0 answers every query from a remote address",
  ignore: netns === null,
  fn: async () => {
    const got = await burst(["--udp-replies-per-source", "0"]);
    assert.deepEqual(got.replies, { [REMOTE]: 100, "127.0.0.1": 100 });
    assert.equal(got.source_rate, 0);
  },
});

needs(["python3", "timeout"], "apt install python3 coreutils").test({
  name:
    "query serve --udp-reply-bytes-per-source caps the reply bytes a second to a remote address, not to loopback",
  ignore: netns === null,
  fn: async () => {
    const got = await burst(["--udp-reply-bytes-per-source", "1000"]);
    const each = got.bytes["127.0.0.1"]! / got.replies["127.0.0.1"]!;
    assert.equal(got.replies["127.0.0.1"], 100, "loopback is not limited");
    // One window of 1,000 bytes, or two if the burst straddles a window boundary.
    assert.ok(got.bytes[REMOTE]! <= 2000, `${REMOTE} got ${got.bytes[REMOTE]} bytes`);
    assert.ok(
      got.replies[REMOTE]! >= 1 && got.replies[REMOTE]! <= Math.floor(2000 / each),
      `${REMOTE} got ${got.replies[REMOTE]} replies of ${each} bytes`,
    );
    assert.equal(got.source_rate, 0, "the reply count limit (2,000) was not reached");
    assert.equal(got.source_bytes, 100 - got.replies[REMOTE]!);
  },
});
