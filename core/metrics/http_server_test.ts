import assert from "node:assert/strict";
import { serveMetrics } from "./http_server.ts";
import { DaemonMetrics } from "./registry.ts";

Deno.test("serveMetrics() answers /metrics, /healthz and /readyz on 127.0.0.1 and 404 elsewhere", async () => {
  const m = new DaemonMetrics("query");
  m.counter("hits_total", "Hits").inc();
  let ready = { ready: false, detail: "data not loaded yet" };
  await using http = serveMetrics(m, { port: 0, ready: () => ready });
  assert.equal(http.host, "127.0.0.1");
  const get = async (path: string, method = "GET") => {
    const res = await fetch(`http://127.0.0.1:${http.port}${path}`, { method });
    return { status: res.status, text: await res.text() };
  };
  assert.match((await get("/metrics")).text, /^sockkit_hits_total\{service="query"\} 1$/m);
  assert.deepEqual(await get("/healthz"), { status: 200, text: "ok\n" });
  assert.deepEqual(await get("/readyz"), { status: 503, text: "not ready: data not loaded yet\n" });
  ready = { ready: true, detail: "2 files loaded" };
  assert.deepEqual(await get("/readyz"), { status: 200, text: "ready: 2 files loaded\n" });
  assert.equal((await get("/other")).status, 404);
  assert.equal((await get("/metrics", "POST")).status, 405);
});

Deno.test("serveMetrics() says which port is taken", async () => {
  const m = new DaemonMetrics("query");
  await using first = serveMetrics(m, { port: 0 });
  assert.throws(
    () => serveMetrics(m, { port: first.port }),
    new RegExp(`Cannot serve metrics on 127\\.0\\.0\\.1:${first.port}: address already in use`),
  );
});
