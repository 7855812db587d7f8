import assert from "node:assert/strict";
import { collectLines, ingestFixture } from "./ingest_fixture.ts";
import { waitUntil } from "./harness/mod.ts";
import { delay } from "../core/async/mod.ts";
import { DaemonMetrics, serveMetrics } from "../core/metrics/mod.ts";
import { createLogger } from "../core/log/mod.ts";

Deno.test("ingest rejects a non-object value with an error line and keeps the connection", async () => {
  await using f = await ingestFixture();
  await using conn = await f.connect();
  const acks = collectLines(conn);
  await conn.write('{"before":1} [1,2] "text" 42 {"after":2}');
  await waitUntil(() => acks.lastOk() === 2, { what: '{"ok":2}' });
  assert.equal(acks.lines.filter((l) => l.startsWith('{"error":"not a JSON object')).length, 3);
  assert.equal(f.server.metrics.objectsRejected, 3);
  assert.ok(conn.writable, "the connection stays open");
  await using c = await f.redis.client();
  assert.deepEqual(await c.mGet(["before", "after"]), ["1", "2"]);
});

Deno.test("ingest refuses a kv object whose key, field or string escapes a lone surrogate, with an error line, where two such keys were stored as one", async () => {
  await using f = await ingestFixture();
  await using conn = await f.connect();
  const acks = collectLines(conn);
  await conn.write(
    String
      .raw`{"k\ud800":"first"} {"k\udbff":"second"} {"h":{"f\udc00":"x"}} {"v":"a\udfff"} {"pair\ud83d\ude00":"ok"}`,
  );
  await waitUntil(() => acks.lastOk() === 1, { what: '{"ok":1}' });
  const errors = acks.lines.filter((l) => l.startsWith('{"error":'));
  assert.equal(errors.length, 4);
  for (const e of errors) {
    assert.match(
      JSON.parse(e).error,
      /^a key, field or string value holds a lone surrogate escape \("[^"]*\\u(d800|dbff|dc00|dfff)"\), which UTF-8 cannot store/,
    );
  }
  assert.ok(conn.writable, "the connection stays open");
  await using c = await f.redis.client();
  // before: one key k\uFFFD holding "second", and "first" overwritten
  assert.deepEqual(await c.keys("*"), ["pair\u{1F600}"]);
});

/** Warn lines about a client's bad values: non-objects and input that closes the connection. */
const REJECT_LINE = /WARN +(rejected input|bad input)/;

Deno.test("ingest logs 10 of a connection's rejected values, not a line per value, and counts every one", async () => {
  const logs: string[] = [];
  await using f = await ingestFixture({
    logger: createLogger({ level: "debug", sink: (l) => logs.push(l) }),
  });
  await using conn = await f.connect();
  const acks = collectLines(conn);
  // 2 bytes per rejected value: without a bound, each was a ~200-byte log line.
  await conn.write("1 ".repeat(5000) + '{"after":1}');
  await waitUntil(() => acks.lastOk() === 1, { what: '{"ok":1}' });
  assert.equal(f.server.metrics.objectsRejected, 5000);
  assert.equal(acks.lines.filter((l) => l.startsWith('{"error":"not a JSON object')).length, 5000);
  await conn.close();
  const lines = logs.filter((l) => REJECT_LINE.test(l));
  assert.equal(lines.length, 10);
  assert.ok(lines.every((l) => /CN=alice/.test(l) && /not a JSON object: got number/.test(l)));
  await using c = await f.redis.client();
  assert.equal(await c.get("after"), "1");
});

Deno.test("ingest's rejected-value lines are bounded across connections: a client reconnecting in a loop gets 10 per 10 s, then each message again with not_logged though it has stopped", async () => {
  const logs: string[] = [];
  let firstAt = 0;
  await using f = await ingestFixture({
    logger: createLogger({
      sink: (l) => {
        if (REJECT_LINE.test(l) && firstAt === 0) firstAt = Date.now();
        logs.push(l);
      },
    }),
  });
  // Each connection: one object to store, two values rejected, then malformed JSON (closed).
  for (let i = 0; i < 30; i++) {
    await using conn = await f.connect();
    collectLines(conn); // reads, so the server's close is seen
    await conn.write(`{"c${i}":${i}} [1] "x" {"bad": }`);
    await conn.closed;
  }
  await waitUntil(() => f.server.metrics.objectsRejected === 90, { what: "90 rejects counted" });
  // Before: 3 lines per connection, 90 from one client (10 per connection at most).
  const lines = logs.filter((l) => REJECT_LINE.test(l));
  assert.equal(lines.length, 10, lines.join("\n"));
  assert.ok(lines.every((l) => /CN=alice/.test(l)), "each line names the client");
  assert.ok(lines.some((l) => /rejected input .*not a JSON object: got array/.test(l)));
  assert.ok(lines.some((l) => /bad input: closing the connection/.test(l)));
  await using c = await f.redis.client();
  assert.deepEqual(
    await c.mGet(Array.from({ length: 30 }, (_, i) => `c${i}`)),
    Array.from({ length: 30 }, (_, i) => String(i)),
  );
  // The client has stopped. Once the 10 s window is over, each message left out is logged
  // again with the count (the 10 let through: 7 rejected input and 3 bad input).
  // Before: nothing until the next bad value, which may never come.
  const summaries = await waitUntil(() => {
    const s = logs.filter((l) => /not_logged=/.test(l));
    return s.length === 2 ? s : undefined;
  }, { what: "two lines with not_logged", timeoutMs: Math.max(0, firstAt + 11_000 - Date.now()) });
  assert.ok(
    summaries.some((l) => /WARN +rejected input .*not_logged=53\b/.test(l)),
    summaries.join("\n"),
  );
  assert.ok(
    summaries.some((l) => /WARN +bad input: closing the connection.* not_logged=27\b/.test(l)),
    summaries.join("\n"),
  );
  // Told once: the next bad value is logged without a count.
  await using last = await f.connect();
  await last.write("[2]");
  await waitUntil(() => f.server.metrics.objectsRejected === 91, { what: "the 91st reject" });
  const after = await waitUntil(() => logs.filter((l) => REJECT_LINE.test(l))[12]);
  assert.match(after, /rejected input .*got array/);
  assert.doesNotMatch(after, /not_logged/);
});

for (
  const [name, bad] of [
    ["malformed JSON", '{"broken": [1, tru]}'],
    ["an object over --max-payload", `{"big":"${"x".repeat(600)}"}`],
  ] as const
) {
  Deno.test(`ingest stores what came before ${name}, then closes only that connection`, async () => {
    await using f = await ingestFixture({ maxPayload: 512 });
    await using other = await f.connect("bob");
    const otherAcks = collectLines(other);
    await using conn = await f.connect("alice");
    const acks = collectLines(conn);
    await conn.write(`{"first":1}{"second":{"f":"v"}}${bad}{"never":1}`);
    await conn.closed;
    assert.equal(acks.lastOk(), 2, `acks: ${acks.lines.join(" | ")}`);
    assert.ok(acks.lines.some((l) => l.startsWith('{"error":')), "an error line was sent");
    await other.write('{"other":"fine"}');
    await waitUntil(() => otherAcks.lastOk() === 1, { what: "the other client's ack" });
    await using c = await f.redis.client();
    assert.equal(await c.get("first"), "1");
    assert.equal(await c.hGet("second", "f"), "v");
    assert.equal(await c.get("never"), null);
    assert.equal(await c.get("other"), "fine");
  });
}

Deno.test("ingest --ack reports exact counts; without --ack the server writes nothing", async (t) => {
  await t.step("with --ack", async () => {
    await using f = await ingestFixture({ ack: true });
    const r = await f.send(Array.from({ length: 2500 }, (_, i) => ({ [`k${i}`]: i })));
    assert.equal(r.acknowledged, 2500);
  });
  await t.step("without --ack", async () => {
    await using f = await ingestFixture({ ack: false });
    await using conn = await f.connect();
    const lines = collectLines(conn);
    await conn.write('{"a":1} [1] {"bad": }');
    await conn.closed;
    assert.deepEqual(lines.lines, []);
    await using c = await f.redis.client();
    assert.equal(await c.get("a"), "1");
  });
});

Deno.test("ingest serves Prometheus metrics on /metrics", async () => {
  const metrics = new DaemonMetrics("ingest");
  await using f = await ingestFixture({ daemonMetrics: metrics });
  await using http = serveMetrics(metrics, { port: 0, ready: () => f.server.ready() });
  await f.send([{ m1: 1 }, { m2: 2 }]);
  await using conn = await f.connect();
  await conn.write("[1]");
  await waitUntil(() => f.server.metrics.objectsRejected === 1, { what: "the rejection" });
  const res = await fetch(`http://127.0.0.1:${http.port}/metrics`);
  const text = await res.text();
  assert.match(res.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
  assert.match(text, /^sockkit_ingest_objects_received_total\{service="ingest"\} 2$/m);
  assert.match(text, /^sockkit_ingest_objects_stored_total\{service="ingest"\} 2$/m);
  assert.match(text, /^sockkit_ingest_objects_rejected_total\{service="ingest"\} 1$/m);
  assert.match(text, /^sockkit_frames_received_total\{service="ingest"\} 3$/m);
  assert.match(text, /^sockkit_connections_open\{service="ingest"\} 1$/m);
  assert.match(text, /^sockkit_connections_opened_total\{service="ingest"\} 2$/m);
  assert.match(text, /^# TYPE sockkit_ingest_redis_errors_total counter$/m);
  const ready = await fetch(`http://127.0.0.1:${http.port}/readyz`);
  assert.equal(ready.status, 200);
  assert.match(await ready.text(), /^ready: redis .* reachable/);
});

Deno.test("ingest reports a write Redis refuses (WRONGTYPE) as an error line and keeps going", async () => {
  await using f = await ingestFixture();
  await using conn = await f.connect();
  const acks = collectLines(conn);
  await conn.write('{"k":"a string"}{"k":{"f":"hash now"}}{"z":1}');
  await waitUntil(() => acks.lines.some((l) => l.includes("WRONGTYPE")), { what: "the error" });
  await waitUntil(() => acks.lastOk() === 2, { what: '{"ok":2}' });
  assert.equal(f.server.metrics.objectsFailed, 1);
  await using c = await f.redis.client();
  assert.deepEqual(await c.mGet(["k", "z"]), ["a string", "1"]);
});

Deno.test("ingest --ack stops reading a client that does not read its replies (instead of holding them to the 64 MiB cap), and serves it again once it reads", async () => {
  await using f = await ingestFixture({ ack: true });
  await using conn = await f.connect();
  conn.pause(); // the client stops reading its acknowledgements and error lines
  const acks = collectLines(conn);
  // 100 × 32,768 bad values: 6.4 MB in, one 42-byte error line each, 138 MB out
  const chunk = new TextEncoder().encode("1 ".repeat(32768));
  const total = 100;
  let sent = 0;
  const writing = (async () => {
    for (let i = 0; i < total; i++) {
      await conn.write(chunk);
      sent++;
    }
    await conn.write('{"after":1}');
  })();
  await delay(3000);
  assert.ok(sent < total, `the server stopped reading: the client's writes wait (${sent} sent)`);
  assert.ok(conn.writable, "and it kept the connection");
  conn.resume();
  await writing;
  await waitUntil(() => acks.lastOk() === 1, { what: '{"ok":1}', timeoutMs: 60_000 });
  assert.equal(f.server.metrics.objectsRejected, total * 32768);
  assert.equal(acks.lines.filter((l) => l.startsWith('{"error":')).length, total * 32768);
});
