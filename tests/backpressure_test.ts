/**
 * Backpressure over real TLS: a paused server connection stops reading from
 * the network, so a client that keeps writing is held back by TCP flow
 * control instead of the server buffering everything in memory.
 */
import assert from "node:assert/strict";
import { connect, type Connection, listen } from "../core/net/mod.ts";
import { loadClientTls, loadServerTls } from "../core/pki/mod.ts";
import { makePki, waitUntil } from "./harness/mod.ts";
import { settlesWithin } from "../core/async/mod.ts";

const CHUNK = new Uint8Array(64 * 1024).fill(120);
const LIMIT = 256 * 1024 * 1024;

/** Writes chunks until `stop()` is true or LIMIT bytes went out; returns bytes accepted. */
async function writeUntil(conn: Connection, stop: () => boolean): Promise<number> {
  let sent = 0;
  while (!stop() && sent < LIMIT && conn.writable) {
    await settlesWithin(conn.write(CHUNK), 100);
    sent += CHUNK.length;
  }
  return sent;
}

type PauseWay = "pause() before receive()" | "pause() after receive()";

async function pausedConnectionHoldsWriter(way: PauseWay): Promise<void> {
  await using pki = await makePki({ clients: ["alice"] });
  const material = await loadServerTls({
    cert: pki.paths.serverCert,
    key: pki.paths.serverKey,
    clientCerts: pki.paths.allowList,
  });
  let received = 0;
  let serverConn: Connection | undefined;
  await using server = await listen(
    { host: "127.0.0.1", port: 0, tls: material, requireClientCert: true },
    async (conn) => {
      serverConn = conn;
      if (way === "pause() before receive()") conn.pause();
      conn.receive({ data: (chunk) => received += chunk.length });
      if (way === "pause() after receive()") conn.pause();
      await conn.closed;
    },
  );
  const client = await connect({
    host: "127.0.0.1",
    port: server.port,
    tls: {
      ...(await loadClientTls({ ca: pki.paths.ca, ...pki.client("alice") })),
      servername: "localhost",
    },
  });
  await waitUntil(() => serverConn !== undefined, { timeoutMs: 5000 });

  // While paused, the writer stalls after the kernel buffers fill up.
  const deadline = Date.now() + 1500;
  const sentWhilePaused = await writeUntil(client, () => Date.now() > deadline);
  assert.ok(
    sentWhilePaused < 64 * 1024 * 1024,
    `the client pushed ${sentWhilePaused} bytes into a paused connection`,
  );
  assert.ok(received < 16 * 1024 * 1024, `a paused connection read ${received} bytes`);

  // Resumed, everything written arrives.
  serverConn!.resume();
  await waitUntil(() => received === sentWhilePaused, { timeoutMs: 10_000 });
  assert.equal(received, sentWhilePaused);
  client.destroy();
}

Deno.test("a paused TLS connection holds the writer back and then delivers every byte", async (t) => {
  for (const way of ["pause() before receive()", "pause() after receive()"] as const) {
    await t.step(way, () => pausedConnectionHoldsWriter(way));
  }
});
