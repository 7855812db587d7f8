/**
 * Certificate rotation without restart: each daemon runs as a CLI
 * subprocess; a client stays connected while the server certificate is
 * replaced by one from a new CA and the daemon is told to reload. A new
 * client trusting the new CA connects, one trusting only the old CA does not,
 * and the old connection keeps working.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { sendObjects } from "../core/ingest/mod.ts";
import { type ClientTlsOptions, connect } from "../core/net/mod.ts";
import { loadClientTls } from "../core/pki/mod.ts";
import { SearchClient } from "../core/search/mod.ts";
import {
  type CliProcess,
  makePki,
  REPO_ROOT,
  runCli,
  startDaemon,
  startIngest,
  startRedis,
  tempDir,
  type TestPki,
  waitUntil,
} from "./harness/mod.ts";
import { collectLines } from "./ingest_fixture.ts";
import { lineClient } from "./_chat/line_client.ts";
import { app, brokerSite, connected, startClient } from "./broker_helpers.ts";

/** Replaces `pki`'s server certificate and key with those of a fresh PKI (a new CA). */
async function rotate(pki: TestPki): Promise<TestPki> {
  const next = await makePki();
  await Deno.copyFile(next.paths.serverCert, pki.paths.serverCert);
  await Deno.copyFile(next.paths.serverKey, pki.paths.serverKey);
  return next;
}

/** Runs `sockkit <service> reload --pid PID` and waits for the daemon's `reloaded` line. */
async function reload(service: string, daemon: CliProcess): Promise<void> {
  const before = daemon.stderrLines.length;
  const r = await runCli([service, "reload", "--pid", String(daemon.pid)]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /sent SIGHUP/);
  await waitUntil(
    () => daemon.stderrLines.slice(before).some((l) => /INFO\s+reloaded/.test(l)),
    { what: `${service} to log "reloaded"` },
  );
}

/** Sends SIGHUP and waits for a `reload failed` line (the daemon keeps its material). */
async function failedReload(daemon: CliProcess): Promise<string> {
  const before = daemon.stderrLines.length;
  daemon.kill("SIGHUP");
  return await waitUntil(
    () => daemon.stderrLines.slice(before).find((l) => /reload failed/.test(l)),
    { what: 'a "reload failed" line' },
  );
}

/** Sends `object` to ingest on 127.0.0.1:`port` with acks; resolves with how many were acknowledged. */
async function sendAcked(
  port: number,
  tls: ClientTlsOptions,
  object: unknown,
): Promise<number | undefined> {
  return (await sendObjects([object], { host: "127.0.0.1", port, tls, ack: true })).acknowledged;
}

function refusesOldCa(p: Promise<unknown>): Promise<void> {
  return assert.rejects(p, /certificate|verify|issuer|UnknownIssuer|Cannot connect/i);
}

Deno.test("ingest reload: a new server certificate is used at once, live clients stay, revoked ones are closed", async () => {
  await using redis = await startRedis();
  await using pki = await makePki({ clients: ["alice", "bob"] });
  await using srv = await startIngest(pki, redis.url, ["--ack"]);
  const { port } = srv;
  const oldTls = await loadClientTls({ ca: pki.paths.ca, ...pki.client("alice") });
  await using live = await connect({ host: "127.0.0.1", port, tls: oldTls });
  const acks = collectLines(live);
  await live.write('{"before":1}');
  await waitUntil(() => acks.lastOk() === 1, { what: '{"ok":1}' });

  await using next = await rotate(pki);
  await reload("ingest", srv);
  const newTls = await loadClientTls({ ca: next.paths.ca, ...pki.client("bob") });
  assert.equal(await sendAcked(port, newTls, { after: 1 }), 1);
  await refusesOldCa(connect({ host: "127.0.0.1", port, tls: oldTls }));
  await live.write('{"still":1}');
  await waitUntil(() => acks.lastOk() === 2, { what: "the old connection to keep working" });

  // A broken certificate file: the reload fails, the new certificate stays in use.
  await Deno.writeTextFile(pki.paths.serverCert, "not a certificate\n");
  assert.match(await failedReload(srv), /server certificate|PEM|certificate/i);
  assert.equal(await sendAcked(port, newTls, { again: 1 }), 1);

  // Revoking alice and reloading closes her live connection.
  await Deno.copyFile(next.paths.serverCert, pki.paths.serverCert);
  const revoked = await runCli(["certs", "revoke", "alice", "--dir", pki.dir]);
  assert.equal(revoked.code, 0, revoked.stderr);
  await reload("ingest", srv);
  await live.closed;
  assert.ok(srv.stderrText().includes("closing client: refused after reload"));
  await using c = await redis.client();
  assert.deepEqual(await c.mGet(["before", "after", "still", "again"]), ["1", "1", "1", "1"]);
});

Deno.test("servercli reload: new clients get the new certificate, a connected client keeps its session", async () => {
  await using pki = await makePki();
  await using srv = await startDaemon(["servercli", "--certs", pki.dir, "--period", "1h"]);
  const { port } = srv;
  const oldTls = await loadClientTls({ ca: pki.paths.ca });
  await using live = await lineClient(port, oldTls);
  await live.send("before\n");
  assert.equal(await live.nextNonDate(), "erofeb");

  await using next = await rotate(pki);
  await reload("servercli", srv);
  await using fresh = await lineClient(port, await loadClientTls({ ca: next.paths.ca }));
  await fresh.send("new\n");
  assert.equal(await fresh.nextNonDate(), "wen");
  await refusesOldCa(lineClient(port, oldTls));
  await live.send("after\n");
  assert.equal(await live.nextNonDate(), "retfa");
});

Deno.test("search reload: a TLS search server swaps its certificate while a client keeps querying", async () => {
  await using pki = await makePki();
  const words = join(REPO_ROOT, "fixtures", "search", "words.txt");
  const first = (await Deno.readTextFile(words)).split("\n")[0]!;
  await using srv = await startDaemon([
    "search",
    "serve",
    "--file",
    words,
    "--tls",
    "--certs",
    pki.dir,
  ]);
  const { port } = srv;
  const client = (tls: ClientTlsOptions) =>
    SearchClient.connect({ host: "127.0.0.1", port, tls: { ...tls, servername: "localhost" } });
  const oldTls = await loadClientTls({ ca: pki.paths.ca });
  await using live = await client(oldTls);
  assert.equal(await live.query(first), true);

  await using next = await rotate(pki);
  await reload("search", srv);
  await using fresh = await client(await loadClientTls({ ca: next.paths.ca }));
  assert.equal(await fresh.query(first), true);
  await refusesOldCa(client(oldTls));
  assert.equal(await live.query(first), true);
  assert.equal(await live.query("not a line of the file"), false);
});

Deno.test("search reload: a changed setting only a restart applies is named in the reloaded line", async () => {
  await using dir = await tempDir("sockkit-search-reload-");
  const words = join(REPO_ROOT, "fixtures", "search", "words.txt");
  const config = join(dir.path, "search.conf");
  const entries = `linuxpath=${words}\nunrelated=1\n`;
  await Deno.writeTextFile(config, entries + "reread_on_query=False\n");
  await using srv = await startDaemon(["search", "serve", "--config", config]);
  await Deno.writeTextFile(config, entries + "reread_on_query=True\n");
  const before = srv.stderrLines.length;
  await reload("search", srv);
  const line = srv.stderrLines.slice(before).find((l) => /INFO\s+reloaded/.test(l));
  assert.match(line ?? "", /restart_needed=rereadOnQuery/);
});

Deno.test("broker reload: a new client connector trusting the new CA links up, the old link keeps carrying messages", async () => {
  await using site = await brokerSite("sockkit-broker-reload-", { clients: ["alice", "bob"] });
  const { pki, port, sdir, cdir } = site;
  await using _link = await site.link();
  await using aliceApp = await app(cdir);
  const got: unknown[] = [];
  await aliceApp.listen("note", (m) => got.push(m.data));
  await using serverApp = await app(sdir);
  await serverApp.send("alice", "note", { n: 1 }, { ack: true });
  await waitUntil(() => got.length === 1, { what: "alice's first note" });

  await using next = await rotate(pki);
  const r = await runCli(["broker", "reload", "--dir", sdir]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^reloaded .*: \d+ allow-list entries, 0 revoked clients dropped/);
  await using bob = startClient(pki.dir, join(site.root, "bob"), "bob", port, [
    "--ca",
    next.paths.ca,
  ]);
  await connected(bob);
  await serverApp.send("alice", "note", { n: 2 }, { ack: true });
  await waitUntil(() => got.length === 2, { what: "alice's note after the reload" });
  assert.deepEqual(got, [{ n: 1 }, { n: 2 }]);

  // A bad key file: the admin op reports the failure and nothing changes.
  await Deno.writeTextFile(pki.paths.serverKey, "not a key\n");
  const bad = await runCli(["broker", "reload", "--dir", sdir]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /key/i);
  await serverApp.send("bob", "note", { n: 3 }, { ack: true });
});

Deno.test("sockkit <svc> reload --pid refuses to signal a process that is not that daemon", async () => {
  const other = new Deno.Command("sleep", { args: ["30"] }).spawn();
  try {
    const r = await runCli(["search", "reload", "--pid", String(other.pid)]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, new RegExp(`Process ${other.pid} is not a sockkit search daemon`));
    const probe = await runCli(["search", "reload", "--pid", String(other.pid)]);
    assert.equal(probe.code, 2, "the process is still there: SIGHUP was not sent");
  } finally {
    other.kill("SIGKILL");
    await other.status;
  }
});

/**
 * A copy of `pki`'s certificates directory (same CA, server certificate and
 * allow-list) in which alice is revoked; removed on dispose.
 */
async function copyRevokingAlice(pki: TestPki): Promise<AsyncDisposable & { dir: string }> {
  const root = await tempDir("sockkit-certs-b-");
  const dir = join(root.path, "certsB");
  const cp = await new Deno.Command("cp", { args: ["-a", pki.dir, dir] }).output();
  assert.equal(cp.code, 0, new TextDecoder().decode(cp.stderr));
  const r = await runCli(["certs", "revoke", "alice", "--dir", dir]);
  assert.equal(r.code, 0, r.stderr);
  return { dir, [Symbol.asyncDispose]: () => root[Symbol.asyncDispose]() };
}

/** The `reloaded` line the daemon logs after `before` (its index in the stderr lines). */
function reloadedLine(daemon: CliProcess, before: number): string {
  return daemon.stderrLines.slice(before).find((l) => /INFO\s+reloaded/.test(l)) ?? "";
}

Deno.test("servercli reload: a config file that moves certs= to another directory checks that directory's revocation list", async () => {
  await using pki = await makePki({ clients: ["alice", "bob"] });
  await using certsB = await copyRevokingAlice(pki);
  await using dir = await tempDir("sockkit-servercli-reload-");
  const config = join(dir.path, "sc.toml");
  const write = (certs: string) =>
    Deno.writeTextFile(
      config,
      `[servercli]\ncerts = ${JSON.stringify(certs)}\nrequire_client_cert = true\n`,
    );
  await write(pki.dir);
  await using srv = await startDaemon(["servercli", "--config", config, "--period", "1h"]);
  const { port } = srv;
  const aliceTls = await loadClientTls({ ca: pki.paths.ca, ...pki.client("alice") });
  await using live = await lineClient(port, aliceTls);
  await live.send("before\n");
  assert.equal(await live.nextNonDate(), "erofeb");

  await write(certsB.dir);
  const before = srv.stderrLines.length;
  await reload("servercli", srv);
  assert.match(reloadedLine(srv, before), /closed_revoked=1/);
  assert.equal(await live.nextNonDate(), null, "alice's open connection is closed");
  assert.ok(srv.stderrText().includes("closing client: refused after reload"));

  // A new connection from alice is refused; bob, not revoked in certsB, is served.
  await using again = await lineClient(port, aliceTls);
  await again.send("hi\n").catch(() => {});
  assert.equal(await again.nextNonDate(), null, "alice is refused after the reload");
  await waitUntil(
    () => srv.stderrLines.slice(before).some((l) => /refused client.*CN=alice was revoked/.test(l)),
    { what: "the refusal of alice, naming the revocation" },
  );
  await using bob = await lineClient(
    port,
    await loadClientTls({ ca: pki.paths.ca, ...pki.client("bob") }),
  );
  await bob.send("hi\n");
  assert.equal(await bob.nextNonDate(), "ih");
});

Deno.test("search reload: a config file that moves certs_dir= to another directory checks that directory's revocation list", async () => {
  await using pki = await makePki({ clients: ["alice", "bob"] });
  await using certsB = await copyRevokingAlice(pki);
  await using dir = await tempDir("sockkit-search-reload-");
  const words = join(REPO_ROOT, "fixtures", "search", "words.txt");
  const first = (await Deno.readTextFile(words)).split("\n")[0]!;
  const config = join(dir.path, "search.conf");
  const write = (certs: string) =>
    Deno.writeTextFile(
      config,
      `linuxpath=${words}\nssl_enabled=True\nrequire_client_cert=True\ncerts_dir=${certs}\n`,
    );
  await write(pki.dir);
  await using srv = await startDaemon(["search", "serve", "--config", config]);
  const client = async (name: string) =>
    SearchClient.connect({
      host: "127.0.0.1",
      port: srv.port,
      tls: {
        ...await loadClientTls({ ca: pki.paths.ca, ...pki.client(name) }),
        servername: "localhost",
      },
    });
  await using live = await client("alice");
  assert.equal(await live.query(first), true);

  await write(certsB.dir);
  const before = srv.stderrLines.length;
  await reload("search", srv);
  assert.match(reloadedLine(srv, before), /closed_revoked=1/);
  await assert.rejects(live.query(first), "alice's open connection is closed");

  await assert.rejects(
    (async () => {
      await using again = await client("alice");
      await again.query(first);
    })(),
    "alice is refused after the reload",
  );
  await waitUntil(
    () => srv.stderrLines.slice(before).some((l) => /refused client.*CN=alice was revoked/.test(l)),
    { what: "the refusal of alice, naming the revocation" },
  );
  await using bob = await client("bob");
  assert.equal(await bob.query(first), true);
});
