/**
 * A client that sends its objects and then half-closes (shuts down its write
 * side, still reading) gets the final `{"ok":N}` for everything stored.
 */
import assert from "node:assert/strict";
import { hasPythonSsl, type IngestFixture, ingestFixture } from "./ingest_fixture.ts";

const HALF_CLOSE_CLIENT = new URL("./_python/half_close_client.py", import.meta.url).pathname;

/** Reads the connection to EOF and returns its lines. */
async function readLines(conn: Deno.Conn): Promise<string[]> {
  let text = "";
  const dec = new TextDecoder();
  for await (const chunk of conn.readable) text += dec.decode(chunk, { stream: true });
  return text.split("\n").filter((l) => l !== "");
}

/** A plain Deno TLS client as alice (it can half-close with `closeWrite()`). */
async function denoTlsClient(f: IngestFixture): Promise<Deno.TlsConn> {
  const tls = await f.clientTls();
  return await Deno.connectTls({
    hostname: "localhost",
    port: f.server.port,
    caCerts: [tls.ca as string],
    cert: tls.cert!,
    key: tls.key!,
  });
}

Deno.test("ingest --ack answers a client that half-closes after its last object with the final ack", async () => {
  await using f = await ingestFixture({ ack: true });
  const conn = await denoTlsClient(f);
  const total = 2000;
  let body = "";
  for (let i = 0; i < total; i++) body += JSON.stringify({ [`half${i}`]: { n: i } });
  await conn.write(new TextEncoder().encode(body));
  // Our side is done; the server's side stays open for its acknowledgements.
  await conn.closeWrite();
  const lines = await readLines(conn);
  assert.ok(lines.length > 0, "the server closed without a single acknowledgement");
  assert.equal(lines.at(-1), `{"ok":${total}}`, `lines received: ${lines.join(" | ")}`);
  await using c = await f.redis.client();
  assert.equal(await c.hGet(`half${total - 1}`, "n"), String(total - 1));
});

Deno.test("ingest --ack answers a bare scalar that ends the stream with its error line", async () => {
  await using f = await ingestFixture({ ack: true });
  const conn = await denoTlsClient(f);
  // `42` has no end of its own: only the end of the stream ends it.
  await conn.write(new TextEncoder().encode('{"tail":1} 42'));
  await conn.closeWrite();
  const lines = await readLines(conn);
  // Before: the scalar was dropped at EOF without an error line.
  assert.ok(
    lines.some((l) => l.startsWith('{"error":"not a JSON object: got number')),
    `lines received: ${lines.join(" | ")}`,
  );
  assert.equal(lines.at(-1), '{"ok":1}', `lines received: ${lines.join(" | ")}`);
});

Deno.test({
  name: "ingest --ack answers a Python client that shuts down TCP writes without a TLS close",
  ignore: !hasPythonSsl,
  fn: async () => {
    await using f = await ingestFixture({ ack: true });
    const total = 2000;
    const out = await f.python(HALF_CLOSE_CLIENT, "alice", [String(total)]);
    assert.equal(out.code, 0, out.stderr);
    const lines = out.stdout.split("\n").filter((l) => l !== "");
    assert.equal(lines.at(-1), `{"ok":${total}}`, `lines received: ${lines.join(" | ")}`);
    await using c = await f.redis.client();
    assert.equal(await c.get(`fin${total - 1}`), "v");
  },
});
