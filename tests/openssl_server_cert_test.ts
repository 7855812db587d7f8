/**
 * Server certificates made exactly as the replaced tools' READMEs say
 * (`openssl req -new -newkey rsa:2048 -days 365 -nodes -x509 ...`:
 * self-signed, CA:TRUE, no subjectAltName) serve every TLS service; sockkit's
 * own clients and Python's `ssl` module, given the certificate as the CA,
 * connect to each.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  freePort,
  makePki,
  runCli,
  spawnCli,
  startDaemon,
  startRedis,
  tempDir,
} from "./harness/mod.ts";
import {
  pythonTls,
  readmeCert,
  readmeIngest,
  readmeIngestSend,
  tlsSearchQuery,
} from "./_openssl.ts";
import { connected, startClient, startServer } from "./broker_helpers.ts";
import { delay } from "../core/async/mod.ts";

Deno.test("ingest serves with a README openssl server certificate; sockkit and Python clients store objects", async () => {
  await using tmp = await tempDir("sockkit-openssl-");
  await using redis = await startRedis();
  await using ingest = await readmeIngest(tmp.path, redis.url);
  const { port, server, client } = ingest;
  const sent = await readmeIngestSend(ingest, '{"from_sockkit":"yes"}');
  assert.equal(sent.code, 0, sent.stderr);
  assert.equal(
    await pythonTls(port, { ca: server.cert, ...client, send: '{"from_python":"yes"}' }),
    "",
  );
  await using r = await redis.client();
  for (let i = 0; i < 100 && (await r.get("from_python")) === null; i++) {
    await delay(50);
  }
  assert.deepEqual(await r.mGet(["from_sockkit", "from_python"]), ["yes", "yes"]);
  assert.doesNotMatch(ingest.proc.stderrText(), /CA:TRUE/);
});

Deno.test("servercli serves with a README openssl server certificate; clientcli and Python get replies", async () => {
  await using tmp = await tempDir("sockkit-openssl-");
  const server = await readmeCert(tmp.path, "server");
  await using srv = await startDaemon(["servercli", "--cert", server.cert, "--key", server.key]);
  const { port } = srv;
  const cli = await runCli(
    ["clientcli", "--host", "localhost", "--port", String(port), "--ca", server.cert],
    { stdin: "hello\n" },
  );
  assert.equal(cli.code, 0, cli.stderr);
  assert.match(cli.stdout, /^reply olleh$/m);
  assert.equal(
    await pythonTls(port, { ca: server.cert, send: "abc\n", until: "cba\n" }),
    "cba\n",
  );
});

Deno.test("search --tls serves with a README openssl certificate named in config.ini; search query and Python get answers", async () => {
  await using tmp = await tempDir("sockkit-openssl-");
  const server = await readmeCert(tmp.path, "server");
  const words = join(tmp.path, "200k.txt");
  await Deno.writeTextFile(words, "apple\nbanana\n");
  const port = freePort();
  const config = join(tmp.path, "config.ini");
  await Deno.writeTextFile(
    config,
    `[DEFAULT]\nssl_enabled = True\nlinuxpath = ${words}\nreread_on_query = False\nport = ${port}\n` +
      `certfile = ${server.cert}\nkeyfile = ${server.key}\n`,
  );
  await using srv = spawnCli(["search", "serve", "--config", config, "--host", "127.0.0.1"]);
  await srv.waitForLine(/listening on .*\(TLS/, 30_000);
  const q = await tlsSearchQuery(port, server.cert, "apple");
  assert.equal(q.code, 0, q.stderr);
  assert.equal(q.stdout.trim(), "STRING EXISTS");
  assert.equal(await pythonTls(port, { ca: server.cert, send: "banana\n" }), "STRING EXISTS\n");
});

Deno.test("query --tls serves with a README openssl server certificate; query ask and Python get replies", async () => {
  await using tmp = await tempDir("sockkit-openssl-");
  const certs = join(tmp.path, "certs");
  await Deno.mkdir(certs);
  const server = await readmeCert(tmp.path, "server");
  await Deno.copyFile(server.cert, join(certs, "server.pem"));
  await Deno.copyFile(server.key, join(certs, "server.key"));
  await Deno.writeTextFile(join(tmp.path, "p.csv"), "id,name\n1,ann\n");
  const spec = join(tmp.path, "spec.json");
  await Deno.writeTextFile(spec, JSON.stringify({ files: [{ path: "p.csv", key: "id" }] }));
  const handler = join(tmp.path, "handler.ts");
  await Deno.writeTextFile(handler, "export default (q, d) => d.p[q]?.name ?? 'none';\n");
  const port = freePort();
  await using srv = spawnCli([
    "query",
    "serve",
    "--tls",
    "--tcp-only",
    "--certs",
    certs,
    "--data",
    spec,
    "--handler",
    handler,
    "--host",
    "127.0.0.1",
    "--port",
    String(port),
  ], { cwd: tmp.path });
  await srv.waitForLine(/listening .*tls=true/, 30_000);
  const ask = await runCli([
    "query",
    "ask",
    "1",
    "--tls",
    "--ca",
    server.cert,
    "--host",
    "localhost",
    "--port",
    String(port),
  ]);
  assert.equal(ask.code, 0, ask.stderr);
  assert.match(ask.stdout, /ann/);
  assert.equal(await pythonTls(port, { ca: server.cert, send: "0pt01\n" }), "0pt0ann");
});

Deno.test("broker serve with a README openssl server certificate: a client connector links and Python completes the handshake", async () => {
  await using tmp = await tempDir("sockkit-openssl-");
  await using pki = await makePki({ clients: ["alice"] });
  const server = await readmeCert(tmp.path, "server");
  await Deno.copyFile(server.cert, pki.paths.serverCert);
  await Deno.copyFile(server.key, pki.paths.serverKey);
  const port = freePort();
  await using _srv = await startServer(pki.dir, join(tmp.path, "server-state"), port);
  const aliceDir = join(tmp.path, "alice-state");
  await using alice = startClient(pki.dir, aliceDir, "alice", port, ["--ca", server.cert]);
  await connected(alice);
  const py = await pythonTls(port, { ca: server.cert, ...pki.client("alice") });
  assert.doesNotMatch(py, /^error:/);
});
