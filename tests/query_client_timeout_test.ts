/**
 * A TCP query reply ends at the server's close, so the client tells apart a
 * server that sends nothing, one whose reply stops part way (neither is a
 * reply: the time limit cut it) and one that closes without a word.
 */
import assert from "node:assert/strict";
import { ask } from "../core/query/mod.ts";

const enc = new TextEncoder();

/** A TCP peer that reads the request line, then does `then` with the connection. */
async function peer(
  then: (conn: Deno.TcpConn) => void | Promise<void>,
  run: (port: number) => Promise<void>,
): Promise<void> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.TcpConn[] = [];
  const serving = (async () => {
    for await (const conn of listener) {
      held.push(conn);
      await conn.read(new Uint8Array(4096));
      await then(conn);
    }
  })().catch(() => {});
  try {
    await run((listener.addr as Deno.NetAddr).port);
  } finally {
    listener.close();
    for (const c of held) {
      try {
        c.close();
      } catch { /* closed by the peer's `then` */ }
    }
    await serving;
  }
}

const askTcp = (port: number) => ask("people 2", { port, transport: "tcp", timeoutMs: 400 });

Deno.test("query ask over TCP: silence, a reply cut by the time limit and a close without a reply each say what happened", async (t) => {
  await t.step("a server that sends nothing", async () => {
    await peer(() => {}, async (port) => {
      await assert.rejects(
        askTcp(port),
        /No reply from 127\.0\.0\.1:\d+ over TCP within 400 ms \(the connection is open but the server sent nothing/,
      );
    });
  });
  await t.step("a reply that stops part way is not returned as a reply", async () => {
    await peer(async (conn) => void await conn.write(enc.encode('0pt0{"id":"2"')), async (port) => {
      await assert.rejects(
        askTcp(port),
        /The reply from 127\.0\.0\.1:\d+ over TCP did not end within 400 ms \(13 bytes came/,
      );
    });
  });
  await t.step("a server that closes without a reply", async () => {
    await peer((conn) => conn.close(), async (port) => {
      await assert.rejects(
        askTcp(port),
        /The server at 127\.0\.0\.1:\d+ closed the TCP connection without a reply/,
      );
    });
  });
});
