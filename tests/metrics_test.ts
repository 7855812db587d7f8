/**
 * Every daemon serves /metrics, /healthz and /readyz on --metrics-port: each
 * test runs the daemon as a CLI subprocess, sends it real traffic over real
 * TLS and checks the scraped counts match what it sent.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { sendObjects } from "../core/ingest/mod.ts";
import { type ClientTlsOptions, connect } from "../core/net/mod.ts";
import { loadClientTls } from "../core/pki/mod.ts";
import { ask, exchange } from "../core/query/mod.ts";
import { searchOnce } from "../core/search/mod.ts";
import {
  makePki,
  metricsPortOf,
  REPO_ROOT,
  runCli,
  scrape,
  startDaemon,
  startIngest,
  startRedis,
  waitUntil,
} from "./harness/mod.ts";
import { lineClient } from "./_chat/line_client.ts";
import { app, brokerSite, connected } from "./broker_helpers.ts";

const svc = (service: string, extra: Record<string, string> = {}) => ({ service, ...extra });

async function health(port: number, path: "/healthz" | "/readyz") {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: res.status, text: await res.text() };
}

Deno.test("ingest --metrics-port counts objects, connections and refusals as they happen", async () => {
  await using redis = await startRedis();
  await using pki = await makePki({ clients: ["alice", "bob"] });
  await using stranger = await makePki({ clients: ["eve"] });
  await using srv = await startIngest(pki, redis.url, ["--metrics-port", "0", "--ack"]);
  const { port } = srv;
  const mport = await metricsPortOf(srv);
  assert.equal((await health(mport, "/healthz")).status, 200);
  const tls = await loadClientTls({ ca: pki.paths.ca, ...pki.client("alice") });
  // One connection stays open while we scrape.
  await using open = await connect({ host: "127.0.0.1", port, tls });
  await open.write('{"held":1}');
  const sent = await sendObjects([{ a: 1 }, { b: { f: "x" } }, { c: "y" }], {
    host: "127.0.0.1",
    port,
    tls,
    ack: true,
  });
  assert.equal(sent.acknowledged, 3);
  // A client without a certificate is refused.
  const noCert = await connect({ host: "127.0.0.1", port, tls: { ca: [...tls.ca!] } }).catch(
    () => undefined, // refused during or right after the handshake
  );
  noCert?.destroy();
  // A certificate from another CA, and a revoked one.
  const refused = async (t: ClientTlsOptions) =>
    (await connect({ host: "127.0.0.1", port, tls: t }).catch(() => undefined))?.destroy();
  await refused({ ...tls, ...await loadClientTls(stranger.client("eve")) });
  assert.equal((await runCli(["certs", "revoke", "bob", "--dir", pki.dir])).code, 0);
  await refused(await loadClientTls({ ca: pki.paths.ca, ...pki.client("bob") }));
  const m = await waitUntil(async () => {
    const s = await scrape(mport);
    return s.value("sockkit_ingest_objects_stored_total") === 4 &&
        s.value("sockkit_connections_refused_total", { reason: "no_cert" }) === 1 &&
        s.value("sockkit_connections_refused_total", { reason: "unknown" }) === 1 &&
        s.value("sockkit_connections_refused_total", { reason: "revoked" }) === 1
      ? s
      : undefined;
  }, { what: "4 objects stored and 3 refusals (no_cert, unknown, revoked) in /metrics" });
  assert.equal(m.value("sockkit_ingest_objects_received_total", svc("ingest")), 4);
  assert.equal(m.value("sockkit_frames_received_total"), 4);
  assert.equal(m.value("sockkit_connections_open"), 1);
  assert.equal(m.value("sockkit_connections_opened_total"), 2);
  assert.ok(m.value("sockkit_bytes_received_total") > 40, "TLS bytes received are counted");
  assert.match(m.text, /^# TYPE sockkit_connections_refused_total counter$/m);
  const ready = await health(mport, "/readyz");
  assert.equal(ready.status, 200);
  assert.match(ready.text, /^ready: redis .* reachable/);
  // Redis goes away: objects are spooled and ingest stays ready (it is spooling).
  await redis[Symbol.asyncDispose]();
  await open.write('{"while":"down"}');
  await waitUntil(
    async () => (await scrape(mport)).value("sockkit_ingest_objects_spooled_total") > 0,
    {
      what: "an object spooled",
      timeoutMs: 20_000,
    },
  );
  const spooling = await health(mport, "/readyz");
  assert.equal(spooling.status, 200);
  assert.match(spooling.text, /unreachable: spooling to disk/);
});

Deno.test("servercli --metrics-port counts lines echoed, dates sent and clients over the cap", async () => {
  await using pki = await makePki();
  await using srv = await startDaemon([
    "servercli",
    "--certs",
    pki.dir,
    "--period",
    "300ms",
    "--max-clients",
    "1",
    "--metrics-port",
    "0",
  ]);
  const { port } = srv;
  const mport = await metricsPortOf(srv);
  const tls = await loadClientTls({ ca: pki.paths.ca });
  await using c = await lineClient(port, tls);
  for (const line of ["abc", "hello", "xyz"]) {
    await c.send(`${line}\n`);
    assert.equal(await c.nextNonDate(), [...line].reverse().join(""));
  }
  await using over = await lineClient(port, tls);
  assert.match((await over.next()) ?? "", /Server full/);
  let dates = 0;
  while (dates < 2) if (/^\d{4}-\d{2}-\d{2}$/.test((await c.next()) ?? "")) dates++;
  const m = await scrape(mport);
  assert.equal(m.value("sockkit_servercli_lines_echoed_total", svc("servercli")), 3);
  assert.equal(m.value("sockkit_frames_received_total"), 3);
  assert.equal(m.value("sockkit_connections_refused_total", { reason: "cap" }), 1);
  assert.ok(m.value("sockkit_servercli_dates_sent_total") >= 2, "the dates the client got");
  assert.ok(m.value("sockkit_servercli_broadcasts_total") >= 2);
  assert.equal((await health(mport, "/readyz")).status, 200);
});

Deno.test("search --metrics-port counts queries by result and mode with a latency histogram", async () => {
  const words = join(REPO_ROOT, "fixtures", "search", "words.txt");
  const first = (await Deno.readTextFile(words)).split("\n")[0]!;
  await using srv = await startDaemon(["search", "serve", "--file", words, "--metrics-port", "0"]);
  const mport = await metricsPortOf(srv);
  const opts = { host: "127.0.0.1", port: srv.port };
  assert.equal(await searchOnce(first, opts), true);
  assert.equal(await searchOnce(first, opts), true);
  assert.equal(await searchOnce("no such line in the file at all", opts), false);
  const m = await waitUntil(async () => {
    const s = await scrape(mport);
    return s.value("sockkit_connections_opened_total") === 3 ? s : undefined;
  }, { what: "3 connections in /metrics" });
  const q = (result: string) => m.value("sockkit_search_queries_total", { result, mode: "index" });
  assert.equal(q("exists"), 2);
  assert.equal(q("not_found"), 1);
  assert.equal(m.value("sockkit_search_query_seconds_count", { mode: "index" }), 3);
  assert.equal(m.value("sockkit_search_query_seconds_bucket", { mode: "index", le: "+Inf" }), 3);
  const ready = await health(mport, "/readyz");
  assert.equal(ready.status, 200);
  assert.match(ready.text, /index of \d+ lines built/);
  const missing = await fetch(`http://127.0.0.1:${mport}/nope`);
  assert.equal(missing.status, 404);
  assert.match(await missing.text(), /try \/metrics, \/healthz or \/readyz/);
});

Deno.test("query --metrics-port counts requests per transport and handler results", async () => {
  await using srv = await startDaemon([
    "query",
    "serve",
    "--data",
    join(REPO_ROOT, "fixtures", "query", "spec.json"),
    "--handler",
    join(REPO_ROOT, "fixtures", "query", "handler.ts"),
    "--metrics-port",
    "0",
  ]);
  const mport = await metricsPortOf(srv);
  const opts = { host: "127.0.0.1", port: srv.port };
  assert.equal((await ask("count people", opts)).error, undefined);
  assert.match((await ask("nosuchfile 1", opts)).error ?? "", /no data file named/);
  assert.equal((await ask("count people", { ...opts, transport: "udp" })).error, undefined);
  // A malformed datagram gets no reply, and is counted.
  await assert.rejects(
    exchange(new TextEncoder().encode("1pt0x"), { ...opts, transport: "udp", timeoutMs: 300 }),
    /No reply/,
  );
  const m = await scrape(mport);
  assert.equal(m.value("sockkit_query_requests_total", { transport: "tcp" }), 2);
  assert.equal(m.value("sockkit_query_requests_total", { transport: "udp" }), 2);
  assert.equal(m.value("sockkit_query_udp_dropped_total", { reason: "unreadable" }), 1);
  assert.equal(m.value("sockkit_query_queries_total", { result: "ok" }), 2);
  assert.equal(m.value("sockkit_query_queries_total", { result: "error" }), 1);
  assert.equal(m.value("sockkit_query_handler_errors_total", { kind: "error" }), 1);
  assert.equal(m.value("sockkit_query_handler_seconds_count", { result: "ok" }), 2);
  assert.equal(m.value("sockkit_connections_opened_total", svc("query")), 2);
  const ready = await health(mport, "/readyz");
  assert.equal(ready.status, 200);
  assert.match(ready.text, /data files loaded, 2 handler workers/);
});

Deno.test("broker --metrics-port counts messages per peer and a client connector's link in /readyz", async () => {
  await using site = await brokerSite("sockkit-broker-metrics-");
  const metricsOn = ["--metrics-port", "0"];
  await using server = await site.server(metricsOn);
  const smport = await metricsPortOf(server);
  await using client = site.client(metricsOn);
  const cmport = await metricsPortOf(client);
  await connected(client);
  assert.equal((await health(cmport, "/readyz")).status, 200);
  await using alice = await app(site.cdir);
  const got: unknown[] = [];
  await alice.listen("note", (msg) => got.push(msg.data));
  await using srvApp = await app(site.sdir);
  for (let i = 0; i < 5; i++) await srvApp.send("alice", "note", { i }, { ack: true });
  await waitUntil(() => got.length === 5, { what: "alice to get 5 notes" });
  const m = await waitUntil(async () => {
    const s = await scrape(smport);
    return s.value("sockkit_broker_messages_acked_total", { peer: "alice" }) >= 5 ? s : undefined;
  }, { what: "5 acks in the server's /metrics" });
  assert.equal(m.value("sockkit_broker_messages_sent_total", { peer: "alice" }), 5);
  assert.equal(m.value("sockkit_broker_link_up", { peer: "alice" }), 1);
  assert.equal(m.value("sockkit_connections_open", svc("broker")), 1);
  const c = await scrape(cmport);
  assert.equal(c.value("sockkit_broker_messages_received_total", { peer: "server" }), 5);
  // The server connector goes away: the client connector is not ready any more.
  server.kill("SIGTERM");
  await server.status;
  await waitUntil(async () => (await health(cmport, "/readyz")).status === 503, {
    what: "the client connector's /readyz to say 503",
  });
});
