import assert from "node:assert/strict";
import { join } from "node:path";
import {
  freePort,
  holdUpToCap,
  makePki,
  ownAddress,
  REPO_ROOT,
  runCli,
  spawnCli,
  startDaemon,
  waitUntil,
} from "./harness/mod.ts";

Deno.test("search serve writes its start-up line through the logger (JSON with --log-format json)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sockkit-search-log-" });
  try {
    const logFile = join(dir, "search.log");
    await using srv = spawnCli([
      "--log-format",
      "json",
      "--log-file",
      logFile,
      "search",
      "serve",
      "--file",
      join(REPO_ROOT, "fixtures/search/words.txt"),
      "--host",
      "127.0.0.1",
      "--port",
      "0",
    ]);
    const line = await waitUntil(async () => {
      const text = await Deno.readTextFile(logFile).catch(() => "");
      return text.split("\n").find((l) => l.includes("listening on"));
    }, { timeoutMs: 30_000, what: "the listening line in the log file" });
    const entry = JSON.parse(line);
    assert.equal(entry.level, "info");
    assert.match(entry.msg, /^listening on 127\.0\.0\.1:\d+ \(plain TCP, index mode\)/);
    assert.ok(typeof entry.time === "string");
    srv.kill("SIGINT");
    assert.equal((await srv.status).code, 0);
    assert.equal(srv.stdoutText(), "", "nothing on stdout");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("search load against a port where no server listens is an error, exit 1", async () => {
  const port = freePort();
  const r = await runCli([
    "search",
    "load",
    "--host",
    "127.0.0.1",
    "--port",
    String(port),
    "--concurrency",
    "1,8",
    "--duration",
    "1",
  ]);
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.match(
    r.stderr,
    /No query was answered at 1 connection\(s\) to 127\.0\.0\.1:\d+: .*refused/,
  );
  assert.doesNotMatch(r.stdout, /failure point/);
});

Deno.test("search query says which TLS setting is likely wrong and which flag fixes it", async () => {
  await using pki = await makePki({ clients: ["alice"] });
  const words = join(REPO_ROOT, "fixtures/search/words.txt");
  const serve = (extra: string[]) =>
    spawnCli(["search", "serve", "--file", words, "--host", "127.0.0.1", "--port", "0", ...extra]);
  const portOf = async (p: ReturnType<typeof spawnCli>) =>
    (await p.waitForLine(/listening on 127\.0\.0\.1:(\d+)/))[1]!;
  await using plain = serve([]);
  await using tls = serve(["--tls", "--certs", pki.dir]);
  await using mtls = serve([
    "--tls",
    "--certs",
    pki.dir,
    "--client-certs",
    pki.paths.allowList,
    "--require-client-cert",
  ]);
  const [plainPort, tlsPort, mtlsPort] = [
    await portOf(plain),
    await portOf(tls),
    await portOf(mtls),
  ];
  const ask = (port: string, extra: string[]) =>
    runCli(["search", "query", "apple", "--host", "localhost", "--port", port, ...extra]);

  const a = await ask(plainPort, ["--tls", "--certs", pki.dir]);
  assert.equal(a.code, 2);
  assert.match(a.stderr, /the server does not speak TLS \(drop --tls\)/);
  const b = await ask(tlsPort, []);
  assert.equal(b.code, 2);
  assert.match(b.stderr, /it probably expects TLS \(add --tls\)/);
  const c = await ask(mtlsPort, ["--tls", "--certs", pki.dir]);
  assert.equal(c.code, 2);
  assert.match(c.stderr, /requires a client certificate \(pass --cert and --key/);
  const d = await ask(mtlsPort, ["--tls", "--certs", pki.dir, ...clientFlags(pki.client("alice"))]);
  assert.equal(d.code, 0, d.stderr);
  for (const p of [plain, tls, mtls]) p.kill("SIGINT");
});

function clientFlags(c: { cert: string; key: string }): string[] {
  return ["--cert", c.cert, "--key", c.key];
}

Deno.test({
  name:
    "search serve closes connections over --max-per-address from one address and keeps serving the others",
  ignore: ownAddress === undefined,
  fn: async () => {
    await using srv = await startDaemon([
      "search",
      "serve",
      "--file",
      join(REPO_ROOT, "fixtures/search/words.txt"),
      "--max-per-address",
      "2",
    ], { host: "0.0.0.0" });
    // Before: no cap; one client could take every descriptor of the server.
    const held = await holdUpToCap(srv, 2);
    const c = held[0]!;
    await c.write(new TextEncoder().encode("apple\n"));
    const buf = new Uint8Array(64);
    const n = await c.read(buf);
    assert.equal(new TextDecoder().decode(buf.subarray(0, n ?? 0)), "STRING EXISTS\n");
    for (const h of held) h.close();
    srv.kill("SIGINT");
    assert.equal((await srv.status).code, 0);
  },
});

Deno.test("search load without --host starts a TLS server over a generated file and loads it", async () => {
  const r = await runCli([
    "search",
    "load",
    "--tls",
    "--lines",
    "1000",
    "--concurrency",
    "2",
    "--duration",
    "1",
  ]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(
    r.stdout,
    /^search load: in-process index-mode server on 127\.0\.0\.1:\d+ \(TLS\), file \S+lines\.txt$/m,
  );
  const row = r.stdout.split("\n").find((l) => /^\s+2\s/.test(l));
  assert.ok(row, `no row for 2 connections in:\n${r.stdout}`);
  const cells = row.trim().split(/\s+/);
  assert.equal(cells[0], "2");
  assert.ok(Number(cells[1]!.replaceAll(",", "")) > 0, row);
  assert.deepEqual(cells.slice(-2), ["0", "0"], `errors and timeouts: ${row}`);
  assert.match(r.stdout, /^no errors or timeouts at any level$/m);
});
