/**
 * Hostile clients and faults against the shared network seam: running out
 * of file descriptors, TCP clients that never start TLS, trickling clients
 * many connections from one address, and clients that send but never read.
 * Real daemons, real TLS.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { type ClientTlsOptions, connect, listen } from "../core/net/mod.ts";
import { createLogger } from "../core/log/mod.ts";
import type { ChatServer } from "../core/chat/mod.ts";
import { loadServerTls } from "../core/pki/mod.ts";
import { startSearchServer } from "../core/search/mod.ts";
import {
  limitLeaving,
  makePki,
  setNoFile,
  startDaemon,
  startTestChatServer,
  tempDir,
  type TestChatServer,
  waitUntil,
} from "./harness/mod.ts";
import { delay, settlesWithin } from "../core/async/mod.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Sends `line` over plain TCP and returns the first reply line (or "" on close/timeout). */
async function askLine(port: number, line: string, timeoutMs = 5000): Promise<string> {
  const c = await Deno.connect({ hostname: "127.0.0.1", port });
  const timer = setTimeout(() => {
    try {
      c.close();
    } catch { /* closed */ }
  }, timeoutMs);
  try {
    await c.write(enc.encode(line + "\n"));
    const buf = new Uint8Array(1024);
    let text = "";
    while (!text.includes("\n")) {
      const n = await c.read(buf).catch(() => null);
      if (n === null) break;
      text += dec.decode(buf.subarray(0, n));
    }
    return text.split("\n")[0]!;
  } finally {
    clearTimeout(timer);
    try {
      c.close();
    } catch { /* closed */ }
  }
}

Deno.test("search keeps accepting after running out of file descriptors, with one warning", async (t) => {
  // Each accepted connection needs two descriptors: accept() takes one, and the duplicate the
  // TLS-capable socket is built on takes the other. Either can be the one that runs out.
  for (
    const [name, spare, cause] of [
      ["when accept() fails", 0, /Too many open files|EMFILE/i],
      ["when the accepted descriptor cannot be duplicated", 1, /duplicating its descriptor failed/],
    ] as const
  ) {
    await t.step(name, async () => {
      await using dir = await tempDir("sockkit-emfile-");
      const file = join(dir.path, "words.txt");
      await Deno.writeTextFile(file, "apple\nbanana\n");
      await using srv = await startDaemon(["search", "serve", "--file", file]);
      const { port, pid } = srv;
      assert.equal(await askLine(port, "apple"), "STRING EXISTS");
      const limits = await Deno.readTextFile(`/proc/${pid}/limits`);
      const was = Number(/^Max open files\s+(\d+)/m.exec(limits)?.[1]);
      assert.ok(was > 0, limits);
      // Leave the daemon `spare` free descriptors once the first client's are freed.
      await setNoFile(pid, await limitLeaving(pid, spare));
      const idle: Deno.Conn[] = [];
      for (let i = 0; i < 20; i++) idle.push(await Deno.connect({ hostname: "127.0.0.1", port }));
      await waitUntil(() => /out of file descriptors/.test(srv.stderrText()) || undefined, {
        timeoutMs: 10_000,
        what: "the out-of-descriptors warning",
      });
      await delay(300); // more failed attempts, which must not be logged again
      await setNoFile(pid, was);
      const reply = await waitUntil(
        async () => (await askLine(port, "banana", 2000)) || undefined,
        {
          timeoutMs: 20_000,
          what: "an answer after the descriptors came back",
        },
      );
      for (const c of idle) c.close();
      assert.equal(reply, "STRING EXISTS");
      const log = srv.stderrText();
      const warnings = log.split("\n").filter((l) => /out of file descriptors/.test(l));
      assert.equal(warnings.length, 1, `logged once:\n${log}`);
      assert.match(warnings[0]!, cause);
      assert.doesNotMatch(log, / ERROR /, "no error line per connection");
      assert.match(log, /accepting connections again/);
      srv.kill("SIGTERM");
      assert.equal((await srv.status).code, 0, srv.stderrText());
    });
  }
});

Deno.test("servercli exits promptly on SIGTERM while a TCP client never starts the TLS handshake", async () => {
  await using pki = await makePki({ clients: ["alice"] });
  await using srv = await startDaemon(["servercli", "--certs", pki.dir]);
  const { port } = srv;
  const silent = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await delay(300); // accepted, handshake pending
    const t0 = performance.now();
    srv.kill("SIGTERM");
    const status = await srv.status;
    const ms = performance.now() - t0;
    assert.equal(status.code, 0, srv.stderrText());
    // Before: the 10 s handshake timer held the process.
    assert.ok(ms < 4000, `exit took ${Math.round(ms)} ms`);
  } finally {
    silent.close();
  }
});

/** The chat server and client TLS that asks for (and verifies) the name "localhost". */
function localhost(chat: TestChatServer): { server: ChatServer; clientTls: ClientTlsOptions } {
  return { server: chat.server, clientTls: { ...chat.clientTls, servername: "localhost" } };
}

Deno.test("servercli closes a client whose partial line does not complete within --line-timeout", async () => {
  await using chat = await startTestChatServer({ periodMs: 60_000, lineTimeoutMs: 500 });
  const { server, clientTls } = localhost(chat);
  const trickler = await connect({ host: "127.0.0.1", port: server.port, tls: clientTls });
  const listener = await connect({ host: "127.0.0.1", port: server.port, tls: clientTls });
  let text = "";
  trickler.receive({ data: (b) => void (text += dec.decode(b)), end: () => {} });
  listener.receive({ data: () => {}, end: () => {} });
  await trickler.write("a");
  await delay(200);
  await trickler.write("b");
  const closed = await settlesWithin(trickler.closed, 10_000);
  if (!closed) trickler.destroy();
  assert.ok(closed, "the trickling client was not closed"); // before: never closed
  assert.match(text, /Line timeout: a line was not completed within 500 ms/);
  // A client that sends nothing is a listener of the dates and stays.
  assert.equal(listener.isClosed, false);
  await waitUntil(() => server.stats.clients === 1, { what: "only the listener left" });
  listener.destroy();
});

Deno.test("servercli refuses connections over the per-address cap and serves the others", async () => {
  const refused: string[] = [];
  await using chat = await startTestChatServer({
    periodMs: 60_000,
    maxClients: 100,
    maxPerAddress: 3,
    capLoopback: true,
  });
  const { server, clientTls } = localhost(chat);
  const held = [];
  for (let i = 0; i < 3; i++) {
    held.push(await connect({ host: "127.0.0.1", port: server.port, tls: clientTls }));
  }
  await waitUntil(() => server.stats.clients === 3, { what: "three clients" });
  const extra = await connect({ host: "127.0.0.1", port: server.port, tls: clientTls }).catch((
    e,
  ) => {
    refused.push(String(e));
    return undefined;
  });
  if (extra) await extra.closed; // closed without being served
  assert.equal(server.stats.clients, 3);
  // The held ones are still answered.
  let reply = "";
  held[0]!.receive({ data: (b) => void (reply += dec.decode(b)), end: () => {} });
  await held[0]!.write("abc\n");
  await waitUntil(() => reply.includes("cba"), { what: "the reply" });
  for (const c of held) c.destroy();
});

Deno.test("search closes a client that floods queries and never reads once nothing moves for the idle timeout", async (t) => {
  await using dir = await tempDir("sockkit-flood-");
  const file = join(dir.path, "words.txt");
  await Deno.writeTextFile(file, "apple\n");
  await using pki = await makePki();
  const tls = await loadServerTls({ cert: pki.paths.serverCert, key: pki.paths.serverKey });
  const caCerts = [await Deno.readTextFile(pki.paths.ca)];
  for (const secure of [false, true]) {
    await t.step(secure ? "TLS" : "plain TCP", async () => {
      await using server = await startSearchServer({
        file,
        host: "127.0.0.1",
        port: 0,
        idleTimeoutMs: 1000,
        ...(secure ? { tls } : {}),
      });
      const opts = { hostname: "127.0.0.1", port: server.port };
      const c = secure
        ? await Deno.connectTls({ ...opts, caCerts, hostname: "localhost" })
        : await Deno.connect(opts);
      // Queries as fast as the server takes them, replies never read: the
      // server's output backs up, it stops reading, and nothing moves.
      const chunk = enc.encode("apple\n".repeat(4096));
      const flooding = (async () => {
        for (;;) await c.write(chunk);
      })().catch(() => "closed");
      try {
        // Before: held forever, the client's write never returned.
        assert.ok(await settlesWithin(flooding, 10_000), "the stalled client was not closed");
        assert.equal(await flooding, "closed");
        await waitUntil(() => server.connections === 0, { what: "the connection to go" });
      } finally {
        try {
          c.close();
        } catch { /* closed */ }
      }
    });
  }
});

Deno.test("a refusal one address repeats is logged 10 times per 10 s, and every one is still counted", async () => {
  const lines: string[] = [];
  const refused: string[] = [];
  await using server = await listen({
    host: "127.0.0.1",
    port: 0,
    maxPerAddress: 1,
    capLoopback: true,
    logger: createLogger({ sink: (l) => lines.push(l) }),
    onRefused: (_peer, reason) => void refused.push(reason),
  }, async (c) => await c.closed);
  const held = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  try {
    for (let i = 0; i < 30; i++) {
      const extra = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
      assert.equal(await extra.read(new Uint8Array(8)), null, "closed over the cap");
      extra.close();
    }
    await waitUntil(() => refused.length === 30 || undefined, { what: "30 refusals" });
    // Before: one warning per connection, 30 lines from one peer.
    assert.equal(lines.filter((l) => /refused client.*too many connections/.test(l)).length, 10);
  } finally {
    held.close();
  }
  // Before: the 20 left out were never told once the peer stopped.
  await server.close();
  const summary = lines.filter((l) => /refused client.*not_logged=/.test(l));
  assert.equal(summary.length, 1, summary.join("\n"));
  assert.match(summary[0]!, /too many connections.*not_logged=20\b/);
});
