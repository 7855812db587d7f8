import assert from "node:assert/strict";
import { ingestFixture } from "./ingest_fixture.ts";
import { runCli, waitUntil } from "./harness/mod.ts";

function sendArgs(port: number, certs: string): string[] {
  return [
    "ingest",
    "send",
    "--host",
    "127.0.0.1",
    "--port",
    String(port),
    "--certs",
    certs,
    "--client",
    "alice",
    "--ack",
  ];
}

Deno.test("ingest send --ack says objects were only spooled when Redis is down", async () => {
  await using f = await ingestFixture({ ack: true });
  await f.redis.stop();
  const r = await runCli(sendArgs(f.server.port, f.pki.dir), {
    stdin: '{"spool1":"a"}{"spool2":"b"}',
  });
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stdout,
    /sent 2 objects, 2 durably accepted: 0 stored in Redis, 2 went through the server's disk spool \(written to Redis once it is back\)/,
  );
});

Deno.test("ingest send --ack against a server without --ack says so instead of waiting out the timeout", async () => {
  await using f = await ingestFixture({ ack: false });
  const started = Date.now();
  const r = await runCli(sendArgs(f.server.port, f.pki.dir), { stdin: '{"noack":"x"}' });
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.match(
    r.stderr,
    /acknowledged nothing: it runs without --ack \(start it with --ack, or send without --ack\), or it is storing nothing now/,
  );
  assert.doesNotMatch(r.stdout, /0 stored/);
  // Well before the 30 s acknowledgement timeout.
  assert.ok(Date.now() - started < 25_000, `took ${Date.now() - started} ms`);
  await using c = await f.redis.client();
  assert.equal(await c.get("noack"), "x");
});

Deno.test("ingest send --ack says an object Redis refused was refused, not that it timed out", async () => {
  await using f = await ingestFixture({ ack: true });
  await using c = await f.redis.client();
  await c.set("h", "a string"); // an object with a nested "h" needs a hash there: WRONGTYPE
  const r = await runCli(sendArgs(f.server.port, f.pki.dir), {
    stdin: '{"ok1":"a"}{"h":{"g":"y"}}',
  });
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /server: .*WRONGTYPE/);
  assert.match(
    r.stderr,
    /1 of 2 objects were refused by the server \(its error lines above say why\)/,
  );
  assert.doesNotMatch(r.stderr, /not acknowledged within/);
  assert.match(r.stdout, /sent 2 objects, 1 durably accepted/);
});

Deno.test("ingest send --ack to a server storing nothing (Redis away, spool full) gives up at --timeout and says why", async () => {
  await using f = await ingestFixture({ ack: true, spoolMax: 0 });
  await f.redis.stop();
  const t0 = performance.now();
  const r = await runCli([...sendArgs(f.server.port, f.pki.dir), "--timeout", "1500"], {
    stdin: '{"paused":1}',
  });
  const took = performance.now() - t0;
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /acknowledged nothing: .*Redis away and its spool full/);
  // the client's own start and the 1.5 s; the server's 10 s graceful close no longer adds to it
  assert.ok(took < 8000, `took ${Math.round(took)} ms`);
  // back, Redis gets the object the server held: its close stores it instead of waiting
  await f.redis.restart();
  await waitUntil(async () => {
    await using c = await f.redis.client();
    return await c.get("paused") === "1";
  }, { what: "the held object in Redis", timeoutMs: 30_000 });
});
