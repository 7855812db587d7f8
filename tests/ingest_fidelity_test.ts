/**
 * ingest as the replaced daemon's users use it: README-made certificates, a
 * Python client sending `json.dumps(d).encode()` back to back, and
 * `sockkit ingest send` with their data.
 */
import assert from "node:assert/strict";
import { startRedis, tempDir, waitUntil } from "./harness/mod.ts";
import { pythonTls, readmeIngest, readmeIngestSend } from "./_openssl.ts";

/** What Python's json.dumps() sends for these values. */
const PY_SCRIPT = `
import json, sys
objs = [
    {"big": 2**64, "one": 1.0, "e20": 1e20, "negzero": -0.0, "small": 1e-7, "s": "1.0"},
    {"h": {"big": 2**64, "one": 1.0, "negzero": -0.0, "list": [1.0, 2], "t": True, "n": None}},
]
sys.stdout.write("".join(json.dumps(o) for o in objs))
`;

Deno.test("ingest stores numbers from a Python json.dumps client exactly as sent (top level and hash fields)", async () => {
  await using tmp = await tempDir("sockkit-ingest-fidelity-");
  await using redis = await startRedis();
  await using ingest = await readmeIngest(tmp.path, redis.url);
  const py = await new Deno.Command("python3", { args: ["-c", PY_SCRIPT], stdout: "piped" })
    .output();
  const payload = new TextDecoder().decode(py.stdout);
  assert.match(payload, /"big": 18446744073709551616, "one": 1\.0, "e20": 1e\+20/);
  assert.equal(
    await pythonTls(ingest.port, { ca: ingest.server.cert, ...ingest.client, send: payload }),
    "",
  );
  await using r = await redis.client();
  await waitUntil(async () => (await r.exists("h")) === 1, { what: "hash h stored" });
  assert.deepEqual(await r.mGet(["big", "one", "e20", "negzero", "small", "s"]), [
    "18446744073709551616",
    "1.0",
    "1e+20",
    "-0.0",
    "1e-07",
    "1.0",
  ]);
  assert.deepEqual({ ...(await r.hGetAll("h")) }, {
    big: "18446744073709551616",
    one: "1.0",
    negzero: "-0.0",
    list: "[1.0, 2]",
    t: "true",
    n: "null",
  });
});

Deno.test("ingest send keeps numbers as written in its input", async () => {
  await using tmp = await tempDir("sockkit-ingest-fidelity-");
  await using redis = await startRedis();
  await using ingest = await readmeIngest(tmp.path, redis.url);
  const out = await readmeIngestSend(
    ingest,
    '{"a": 1.0, "b": 18446744073709551616, "c": {"x": -0.0, "y": 1e+20}}\n',
  );
  assert.equal(out.code, 0, out.stderr);
  await using r = await redis.client();
  await waitUntil(async () => (await r.exists("c")) === 1, { what: "hash c stored" });
  assert.deepEqual(await r.mGet(["a", "b"]), ["1.0", "18446744073709551616"]);
  assert.deepEqual({ ...(await r.hGetAll("c")) }, { x: "-0.0", y: "1e+20" });
});

Deno.test("ingest send with a truncated last object stores the complete ones, then fails naming the cut", async () => {
  await using tmp = await tempDir("sockkit-ingest-fidelity-");
  await using redis = await startRedis();
  await using ingest = await readmeIngest(tmp.path, redis.url);
  const out = await readmeIngestSend(ingest, '{"a":1}{"b":');
  assert.notEqual(out.code, 0);
  assert.doesNotMatch(out.stdout, /sent/);
  assert.match(out.stderr, /Invalid JSON in input: it ends inside a value \(5 bytes/);
  await using r = await redis.client();
  await waitUntil(async () => (await r.get("a")) === "1", { what: "a stored" });
  assert.equal(await r.exists("b"), 0);
});
