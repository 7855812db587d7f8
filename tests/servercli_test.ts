import assert from "node:assert/strict";
import type { ChatServerOptions } from "../core/chat/mod.ts";
import { createLogger, type Logger } from "../core/log/mod.ts";
import { loadClientTls } from "../core/pki/mod.ts";
import { join } from "node:path";
import {
  makePki,
  runCli,
  startDaemon,
  startTestChatServer,
  tempDir,
  waitUntil,
} from "./harness/mod.ts";
import { opensslSelfSigned } from "./_openssl.ts";
import { type LineClient, lineClient } from "./_chat/line_client.ts";
import { delay } from "../core/async/mod.ts";

const PERIOD_MS = 1000;
const today = () => new Date().toISOString().slice(0, 10);

/** The chat server in process (period 1 s, a client "alice"), and a way to connect to it. */
async function setup(options: Partial<ChatServerOptions> = {}) {
  const chat = await startTestChatServer({ clients: ["alice"], periodMs: PERIOD_MS, ...options });
  return { ...chat, connect: () => lineClient(chat.server.port, chat.clientTls) };
}

/** A debug-level JSON logger and the records it has written. */
function debugLog(): { logs: Array<{ msg: string }>; logger: Logger } {
  const logs: Array<{ msg: string }> = [];
  const logger = createLogger({
    level: "debug",
    format: "json",
    sink: (l) => logs.push(JSON.parse(l)),
  });
  return { logs, logger };
}

Deno.test("servercli answers each line reversed by grapheme cluster, trailing whitespace removed", async () => {
  await using env = await setup();
  await using c = await env.connect();
  const cases: Array<[string, string]> = [
    ["hello", "olleh"],
    ["abc  ", "cba"],
    ["cafe\u0301 👩‍👩‍👧 🇫🇷 ok", "ko 🇫🇷 👩‍👩‍👧 e\u0301fac"],
    ["", ""],
  ];
  await c.send(cases.map(([input]) => input + "\r\n").join(""));
  for (const [, want] of cases) assert.equal(await c.nextNonDate(), want);
});

Deno.test("servercli sends the date without any input about one period after connecting", async (t) => {
  await t.step("date format", async () => {
    await using env = await setup();
    await using c = await env.connect();
    assert.equal(await c.next(PERIOD_MS * 5), today());
  });
  await t.step("iso format", async () => {
    await using env = await setup({ dateFormat: "iso" });
    await using c = await env.connect();
    const line = await c.next(PERIOD_MS * 5);
    assert.match(line ?? "", /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    assert.equal(line!.slice(0, 10), today());
  });
});

Deno.test("servercli interleaves dates and replies on one connection, replies in order", async () => {
  await using env = await setup();
  await using c = await env.connect();
  const seen: string[] = [];
  let sent = 0;
  // Keep a conversation going until a date has arrived between two replies.
  while (!(seen.includes(today()) && seen.at(-1) !== today() && seen.length > 1)) {
    await c.send(`ping ${sent++}\n`);
    for (;;) {
      const line = await c.next(PERIOD_MS * 5);
      assert.notEqual(line, null);
      seen.push(line!);
      if (line !== today()) break;
    }
    await delay(150);
  }
  const replies = seen.filter((l) => l !== today());
  assert.deepEqual(
    replies,
    Array.from({ length: sent }, (_, i) => [...`ping ${i}`].reverse().join("")),
  );
  const firstDate = seen.indexOf(today());
  assert.ok(firstDate > 0 && firstDate < seen.length - 1, `a date between replies: ${seen}`);
});

Deno.test("servercli with limit 100 sends the 101st client an error line and closes it, then accepts one after a client leaves", async () => {
  await using env = await setup({ maxClients: 100, periodMs: 60_000 });
  const clients: LineClient[] = [];
  try {
    for (let i = 0; i < 100; i += 20) {
      clients.push(...await Promise.all(Array.from({ length: 20 }, () => env.connect())));
    }
    await waitUntil(() => env.server.stats.clients === 100, { what: "100 clients admitted" });
    await using extra = await env.connect();
    assert.match(
      (await extra.next()) ?? "",
      /^error: Server full: 100 clients connected, the limit is 100 \(try again later\)$/,
    );
    assert.equal(await extra.next(), null, "the 101st client is closed");
    // The 100 are still served.
    await Promise.all(clients.map(async (c, i) => {
      await c.send(`client ${i}\n`);
      assert.equal(await c.nextNonDate(), [...`client ${i}`].reverse().join(""));
    }));
    await clients.shift()!.close();
    await waitUntil(() => env.server.stats.clients === 99, { what: "the server to see one leave" });
    await using late = await env.connect();
    await late.send("welcome\n");
    assert.equal(await late.nextNonDate(), "emoclew");
    assert.equal(env.server.stats.refusedFull, 1);
  } finally {
    await Promise.all(clients.map((c) => c.close()));
  }
});

Deno.test("servercli does no broadcast work while no client is connected", async () => {
  const { logs, logger } = debugLog();
  await using env = await setup({ logger });
  const msgs = () => logs.map((l) => l.msg);
  await delay(PERIOD_MS * 1.5);
  assert.equal(env.server.stats.broadcasts, 0);
  assert.equal(env.server.stats.timerRunning, false);
  assert.ok(!msgs().includes("broadcast timer started") && !msgs().includes("broadcast"));

  const c = await env.connect();
  assert.equal(await c.next(PERIOD_MS * 5), today());
  assert.ok(msgs().includes("broadcast timer started") && msgs().includes("broadcast"));
  await c.close();
  await waitUntil(() => msgs().includes("broadcast timer stopped"), { what: "timer stop log" });
  const after = env.server.stats.broadcasts;
  const broadcastLines = msgs().filter((m) => m === "broadcast").length;
  await delay(PERIOD_MS * 1.5);
  assert.equal(env.server.stats.broadcasts, after);
  assert.equal(msgs().filter((m) => m === "broadcast").length, broadcastLines);
  assert.equal(env.server.stats.timerRunning, false);
});

Deno.test("servercli --json sends msg_type date, string and error lines", async () => {
  await using env = await setup({ json: true, maxLineBytes: 32 });
  await using c = await env.connect();
  await c.send("hello\n");
  const lines: unknown[] = [];
  let reply: unknown;
  let date: unknown;
  while (reply === undefined || date === undefined) {
    const msg = JSON.parse((await c.next(PERIOD_MS * 5))!);
    lines.push(msg);
    if (msg.msg_type === "string") reply = msg;
    if (msg.msg_type === "date") date = msg;
  }
  assert.deepEqual(reply, { msg_type: "string", payload: "olleh" });
  assert.deepEqual(date, { msg_type: "date", payload: today() });
  await c.send("x".repeat(100) + "\n");
  const err = JSON.parse((await c.nextNonDate())!);
  assert.equal(err.msg_type, "error");
  assert.match(err.payload, /^Line too long: more than 32 bytes/);
});

Deno.test("servercli answers a line over the cap with an error line and closes the connection", async () => {
  await using env = await setup({ maxLineBytes: 64 });
  await using c = await env.connect();
  await c.send("short\n" + "y".repeat(200) + "\n");
  assert.equal(await c.nextNonDate(), "trohs");
  assert.equal(
    await c.nextNonDate(),
    "error: Line too long: more than 64 bytes without a newline (the limit is 64 bytes); closing the connection",
  );
  assert.equal(await c.next(), null);
});

Deno.test("servercli replaces invalid UTF-8 with U+FFFD and keeps the connection", async () => {
  await using env = await setup();
  await using c = await env.connect();
  await c.send(new Uint8Array([0x61, 0xff, 0x62, 0xc3, 0x0a]));
  assert.equal(await c.nextNonDate(), "\uFFFDb\uFFFDa");
  await c.send("still here\n");
  assert.equal(await c.nextNonDate(), "ereh llits");
  // a leading U+FEFF is a character of the line, as for the replaced server (before: dropped)
  await c.send("\uFEFFab\n");
  assert.equal(await c.nextNonDate(), "ba\uFEFF");
  await c.send(new Uint8Array([0xef, 0xbb, 0xbf, 0x61, 0xff, 0x0a]));
  assert.equal(await c.nextNonDate(), "\uFFFDa\uFEFF");
});

Deno.test("servercli close() tells connected clients the server is going away", async () => {
  await using env = await setup();
  await using c = await env.connect();
  await c.send("hi\n");
  assert.equal(await c.nextNonDate(), "ih");
  await env.server.close();
  assert.equal(await c.nextNonDate(), "error: Server is shutting down (going away)");
  assert.equal(await c.next(), null);
  await env.server.close(); // idempotent
});

Deno.test("servercli --require-client-cert refuses clients without an allow-listed certificate", async () => {
  await using pki = await makePki({ clients: ["alice"] });
  await using other = await makePki({ clients: ["mallory"] });
  await using srv = await startDaemon([
    "servercli",
    "--certs",
    pki.dir,
    "--require-client-cert",
    "--period",
    "1",
  ]);
  const { port } = srv;
  const probe = async (tls: Parameters<typeof lineClient>[1]) => {
    try {
      await using c = await lineClient(port, tls);
      await c.send("hello\n");
      return await c.nextNonDate();
    } catch {
      return null; // refused during the handshake
    }
  };
  assert.equal(await probe(await loadClientTls({ ca: pki.paths.ca })), null, "no certificate");
  assert.equal(
    await probe(await loadClientTls({ ca: pki.paths.ca, ...other.client("mallory") })),
    null,
    "certificate from another CA",
  );
  assert.equal(
    await probe(await loadClientTls({ ca: pki.paths.ca, ...pki.client("alice") })),
    "olleh",
    "allow-listed certificate",
  );
  srv.kill("SIGTERM");
  assert.equal((await srv.status).code, 0);
  assert.match(srv.stderrText(), /refused client/);
});

Deno.test("servercli reports bad settings in one line with exit code 2", async (t) => {
  await using pki = await makePki();
  const conf = `${pki.dir}/servercli.toml`;
  await Deno.writeTextFile(conf, '[servercli]\nmax_clients = "lots"\n');
  await t.step("config file value", async () => {
    const r = await runCli(["servercli", "--certs", pki.dir, "--config", conf]);
    assert.equal(r.code, 2);
    assert.match(
      r.stderr.trim(),
      /^sockkit: Invalid value for key "servercli.max_clients" in config file ".*servercli.toml": expected an integer/,
    );
  });
  await t.step("flag beats the file", async () => {
    const r = await runCli([
      "servercli",
      "--certs",
      pki.dir,
      "--config",
      conf,
      "--max-clients",
      "0",
    ]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /Invalid value for flag --max-clients: expected an integer from 1/);
  });
  await t.step("--cert without --key", async () => {
    const r = await runCli(["servercli", "--cert", pki.paths.serverCert]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--cert and --key go together/);
  });
  await t.step("--period of zero", async () => {
    const r = await runCli(["servercli", "--certs", pki.dir, "--period", "0"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /Invalid value for flag --period: expected a duration above zero/);
  });
  await t.step("--max-line of zero (every line would be too long)", async () => {
    const r = await runCli(["servercli", "--certs", pki.dir, "--max-line", "0"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /Invalid value for flag --max-line: expected a byte size above zero/);
  });
});

Deno.test("servercli closes a client that keeps sending lines but never reads the replies", async () => {
  const { logs, logger } = debugLog();
  await using env = await setup({ logger, maxPendingBytes: 256 * 1024, periodMs: 60_000 });
  // Deno.connectTls reads only when asked, so this client never reads a reply.
  const conn = await Deno.connectTls({
    hostname: "127.0.0.1",
    port: env.server.port,
    caCerts: [await Deno.readTextFile(env.pki.paths.ca)],
  });
  const chunk = new TextEncoder().encode(`${"x".repeat(99)}\n`.repeat(1000));
  let sent = 0;
  try {
    // At most 200 MB: far beyond the socket buffers and the 256 KiB limit.
    while (sent < 200 * 1024 * 1024) {
      await conn.write(chunk);
      sent += chunk.length;
    }
  } catch {
    // The server closed the connection: what this test expects.
  } finally {
    try {
      conn.close();
    } catch { /* already closed */ }
  }
  await waitUntil(() => env.server.stats.clients === 0, { what: "the server to drop the client" });
  assert.ok(
    logs.some((l) => l.msg === "closing client: it sends lines but does not read the replies"),
    `after ${sent} bytes sent`,
  );
});

Deno.test("servercli run in the replaced server's directory serves its certs/my.crt to its Python client", async () => {
  await using tmp = await tempDir("sockkit-servercli-seed-");
  const dir = tmp.path;
  // The replaced server and client load certs/my.crt and certs/my.key by default.
  await Deno.mkdir(join(dir, "certs"));
  await opensslSelfSigned(dir, { cert: "certs/my.crt", key: "certs/my.key", keyType: "rsa:2048" });
  // Before: exit 2, 'Cannot read server certificate "certs/server.pem"'.
  await using srv = await startDaemon(["servercli"], { cwd: dir });
  assert.match(srv.stderrText(), /certs\/my\.crt/);
  // The replaced client's bytes: its SSL context, one line out, one line back.
  const script = `
import asyncio, ssl, sys
async def main():
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    ctx.check_hostname = False
    ctx.load_verify_locations('certs/my.crt')
    reader, writer = await asyncio.open_connection('127.0.0.1', int(sys.argv[1]), ssl=ctx)
    writer.write(('hello' + '\\n').encode())
    await writer.drain()
    print((await reader.readline()).decode().rstrip())
    writer.close()
asyncio.run(main())
`;
  const out = await new Deno.Command("python3", {
    args: ["-c", script, String(srv.port)],
    cwd: dir,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(
    new TextDecoder().decode(out.stdout),
    "olleh\n",
    new TextDecoder().decode(out.stderr),
  );
  // Each reload loads certs/my.crt again; the fallback is logged once per process.
  // Before: once more per reload.
  for (let i = 1; i <= 2; i++) {
    srv.kill("SIGHUP");
    await waitUntil(() => srv.stderrLines.filter((l) => /INFO\s+reloaded/.test(l)).length === i, {
      what: `reload ${i}`,
    });
  }
  const fallbacks = srv.stderrLines.filter((l) =>
    /using the replaced tool's server certificate/.test(l)
  );
  assert.equal(fallbacks.length, 1, srv.stderrText());
  assert.match(fallbacks[0]!, /"certs\/my\.crt" and key "certs\/my\.key"/);
  srv.kill("SIGTERM");
  assert.equal((await srv.status).code, 0, srv.stderrText());
});
