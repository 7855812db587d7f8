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

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Sends `request` (maybe nothing) on a raw TCP connection and reads until the server closes it. */
async function raw(port: number, request: string): Promise<string> {
  const c = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    if (request !== "") await c.write(enc.encode(request));
    let text = "";
    const buf = new Uint8Array(4096);
    while (true) {
      const n = await c.read(buf).catch(() => null);
      if (n === null) return text;
      text += dec.decode(buf.subarray(0, n));
    }
  } finally {
    c.close();
  }
}

Deno.test("serveMetrics() answers one request per connection with Connection: close; HEAD has no body", async () => {
  const m = new DaemonMetrics("query");
  m.counter("hits_total", "Hits").inc(2);
  await using http = serveMetrics(m, { port: 0 });
  const res = await fetch(`http://127.0.0.1:${http.port}/metrics`);
  assert.equal(res.headers.get("connection"), "close");
  assert.match(res.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
  assert.match(await res.text(), /^sockkit_hits_total\{service="query"\} 2$/m);
  const head = await raw(http.port, "HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  assert.match(head, /^HTTP\/1\.1 200 OK\r\n/);
  assert.match(head, /\r\ncontent-length: 3\r\n/);
  assert.ok(head.endsWith("\r\n\r\n"), `no body after the head: ${JSON.stringify(head)}`);
  const post = await raw(http.port, "POST /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
  assert.match(post, /^HTTP\/1\.1 405 Method Not Allowed\r\n[^]*\r\nallow: GET, HEAD\r\n/);
  assert.match(
    await raw(http.port, "GET /readyz?x=1 HTTP/1.0\n\n"),
    /^HTTP\/1\.1 200 OK[^]*ready: serving\n$/,
  );
  assert.match(await raw(http.port, "hello\r\n\r\n"), /^HTTP\/1\.1 400 Bad Request[^]*"hello"/);
});

Deno.test("serveMetrics() answers 431 to a request head over maxHeaderBytes", async () => {
  const m = new DaemonMetrics("query");
  await using http = serveMetrics(m, { port: 0, maxHeaderBytes: 1024 });
  const big = `GET /metrics HTTP/1.1\r\nX-Pad: ${"a".repeat(2000)}\r\n\r\n`;
  assert.match(await raw(http.port, big), /^HTTP\/1\.1 431 [^]*over the 1024 byte limit\n$/);
  // just under the bound is fine
  const fits = `GET /healthz HTTP/1.1\r\nX-Pad: ${"a".repeat(900)}\r\n\r\n`;
  assert.match(await raw(http.port, fits), /^HTTP\/1\.1 200 OK[^]*\r\n\r\nok\n$/);
});

Deno.test("serveMetrics() closes a connection whose request head is not in within headerTimeoutMs", async (t) => {
  const m = new DaemonMetrics("query");
  await using http = serveMetrics(m, { port: 0, headerTimeoutMs: 300 });
  for (
    const [name, sent] of [["idle", ""], [
      "half-sent",
      "GET /metrics HTTP/1.1\r\nHost: x\r\n",
    ]] as const
  ) {
    await t.step(name, async () => {
      const started = performance.now();
      assert.equal(await raw(http.port, sent), "", "closed without an answer");
      const took = performance.now() - started;
      assert.ok(took >= 250 && took < 5000, `closed after ${Math.round(took)} ms`);
    });
  }
  assert.equal(await fetch(`http://127.0.0.1:${http.port}/healthz`).then((r) => r.text()), "ok\n");
});

Deno.test("serveMetrics() closes connections over maxConnections at once and serves again when they go", async () => {
  const m = new DaemonMetrics("query");
  await using http = serveMetrics(m, { port: 0, maxConnections: 2 });
  const held = [
    await Deno.connect({ hostname: "127.0.0.1", port: http.port }),
    await Deno.connect({ hostname: "127.0.0.1", port: http.port }),
  ];
  try {
    // the third is closed before it sends anything, with no answer (the first two are held)
    assert.equal(await raw(http.port, ""), "");
  } finally {
    for (const c of held) c.close();
  }
  let text = "";
  for (let i = 0; i < 50 && text === ""; i++) {
    text = await raw(http.port, "GET /healthz HTTP/1.1\r\n\r\n");
    if (!text) await new Promise((r) => setTimeout(r, 50));
  }
  assert.match(text, /^HTTP\/1\.1 200 OK[^]*ok\n$/);
});
