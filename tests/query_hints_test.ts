import assert from "node:assert/strict";
import { makePki, queryServeArgs, runCli, spawnCli } from "./harness/mod.ts";

Deno.test("query ask says when TLS is spoken to a plain server, or plain text to a TLS one, and which flag fixes it", async () => {
  await using pki = await makePki();
  const serve = (extra: string[]) => spawnCli(queryServeArgs({ only: "tcp" }, ...extra));
  await using plain = serve([]);
  await using tls = serve(["--tls", "--certs", pki.dir]);
  const portOf = async (p: ReturnType<typeof spawnCli>) =>
    (await p.waitForLine(/listening .* tcp=(\d+)/, 30_000))[1]!;
  const [plainPort, tlsPort] = [await portOf(plain), await portOf(tls)];
  const ask = (port: string, extra: string[]) =>
    runCli(["query", "ask", "people 1", "--tcp", "--port", port, ...extra]);
  const a = await ask(plainPort, ["--tls", "--ca", pki.paths.ca, "--host", "localhost"]);
  assert.equal(a.code, 1);
  assert.match(a.stderr, /the server does not speak TLS \(drop --tls\)/);
  const b = await ask(tlsPort, ["--host", "127.0.0.1"]);
  assert.equal(b.code, 1);
  assert.match(b.stderr, /answered with TLS: it expects TLS \(add --tls/);
  const c = await ask(tlsPort, ["--tls", "--ca", pki.paths.ca, "--host", "localhost"]);
  assert.equal(c.code, 0, c.stderr);
  assert.match(c.stdout, /Ada Lovelace/);
  plain.kill("SIGINT");
  tls.kill("SIGINT");
});
