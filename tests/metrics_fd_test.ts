/**
 * The metrics endpoint under descriptor exhaustion: a real servercli daemon
 * with a low descriptor limit, idle connections held to its metrics port
 * until accept() fails with EMFILE. The daemon must stay up (the endpoint
 * backs off like the services' listeners) and serve both ports again once
 * the idle connections close.
 */
import assert from "node:assert/strict";
import { loadClientTls } from "../core/pki/mod.ts";
import { delay } from "../core/async/mod.ts";
import {
  limitLeaving,
  makePki,
  metricsPortOf,
  scrape,
  setNoFile,
  startDaemon,
  waitUntil,
} from "./harness/mod.ts";
import { lineClient } from "./_chat/line_client.ts";

Deno.test("servercli stays up when its metrics port runs out of descriptors, and serves /metrics again", async () => {
  await using pki = await makePki();
  await using srv = await startDaemon(["servercli", "--certs", pki.dir, "--metrics-port", "0"]);
  const mport = await metricsPortOf(srv);
  const tls = await loadClientTls({ ca: pki.paths.ca });
  assert.equal((await scrape(mport)).value("sockkit_connections_open"), 0);
  // a few spare descriptors: the idle connections take them (two each), then accept() fails
  await setNoFile(srv.pid, await limitLeaving(srv.pid, 5));
  const idle: Deno.Conn[] = [];
  try {
    for (let i = 0; i < 12; i++) {
      idle.push(await Deno.connect({ hostname: "127.0.0.1", port: mport }));
    }
    await waitUntil(() => /out of file descriptors/.test(srv.stderrText()) || undefined, {
      timeoutMs: 10_000,
      what: "the out-of-descriptors warning",
    });
    await delay(500); // the failed accepts go on with back-off; the process must not die of them
    const exited = await Promise.race([srv.status.then(() => true), delay(200).then(() => false)]);
    assert.equal(exited, false, `the daemon died:\n${srv.stderrText()}`);
  } finally {
    for (const c of idle) c.close();
  }
  // the limit stays low: the descriptors the idle connections held are enough again
  const m = await waitUntil(async () => await scrape(mport).catch(() => undefined), {
    timeoutMs: 20_000,
    what: "/metrics answered once the idle connections closed",
  });
  assert.match(m.text, /^# TYPE sockkit_connections_open gauge$/m);
  await using c = await lineClient(srv.port, tls);
  await c.send("abc\n");
  assert.equal(await c.nextNonDate(), "cba");
  assert.match(srv.stderrText(), /accepting connections again/);
  srv.kill("SIGTERM");
  assert.equal((await srv.status).code, 0, srv.stderrText());
});
