import assert from "node:assert/strict";
import { type ChatServerOptions, reverseLine } from "../core/chat/mod.ts";
import {
  freePort,
  makePki,
  runCli,
  spawnCli,
  startDaemon,
  startTestChatServer,
} from "./harness/mod.ts";

const PERIOD = "1";
const today = () => new Date().toISOString().slice(0, 10);

/** The chat server in process, and the clientcli command line that reaches it. */
async function setup(options: Partial<ChatServerOptions> = {}) {
  const chat = await startTestChatServer({ periodMs: Number(PERIOD) * 1000, ...options });
  return { ...chat, args: clientcliArgs(chat.server.port, chat.pki.paths.ca) };
}

/** `clientcli` to 127.0.0.1:`port` trusting `ca`. */
function clientcliArgs(port: number, ca: string): string[] {
  return ["clientcli", "--host", "127.0.0.1", "--port", String(port), "--ca", ca];
}

const replies = (stdout: string) =>
  stdout.split("\n").filter((l) => l.startsWith("reply ")).map((l) => l.slice(6));

Deno.test("clientcli with piped input prints one labelled reply per input line and exits 0", async () => {
  await using env = await setup();
  const input = [
    "hello",
    "abc  ",
    "cafe\u0301 👩‍👩‍👧 🇫🇷",
    "",
    ...Array.from({ length: 200 }, (_, i) => `line ${i}`),
  ];
  const { code, stdout, stderr } = await runCli(env.args, { stdin: input.join("\n") + "\n" });
  assert.equal(code, 0, stderr);
  assert.deepEqual(replies(stdout), input.map(reverseLine));
  assert.equal(replies(stdout)[0], "olleh");
  for (const line of stdout.trimEnd().split("\n")) {
    assert.match(line, /^(reply |date {2}\d{4}-\d{2}-\d{2}$)/);
  }
});

Deno.test("clientcli prints dates as they arrive without input and quits cleanly at EOF", async () => {
  await using env = await setup();
  await using cli = spawnCli(env.args);
  assert.equal((await cli.waitForLine(/^date {2}(.*)$/))[1], today());
  await cli.closeStdin();
  assert.equal((await cli.status).code, 0, cli.stderrText());
});

Deno.test("clientcli reads msg_type from a --json server, with --json or detected", async (t) => {
  await using env = await setup({ json: true });
  for (const flags of [["--json"], []]) {
    await t.step(flags.length ? "--json" : "detected", async () => {
      const { code, stdout, stderr } = await runCli([...env.args, ...flags], {
        stdin: "hello\n42-11-6202\n",
      });
      assert.equal(code, 0, stderr);
      assert.deepEqual(replies(stdout), ["olleh", "2026-11-24"]);
      assert.ok(!stdout.includes("msg_type"), stdout);
    });
  }
});

Deno.test("clientcli pointed at a dead port exits 1 with a clear message", async () => {
  const port = freePort();
  const { code, stderr } = await runCli([
    "clientcli",
    "--host",
    "127.0.0.1",
    "--port",
    String(port),
    "--insecure",
  ], {
    stdin: "hello\n",
  });
  assert.equal(code, 1);
  assert.match(
    stderr.trim(),
    new RegExp(`^sockkit: Cannot connect to 127\\.0\\.0\\.1:${port}: connection refused`),
  );
});

Deno.test("clientcli reports the server's error line and exits 1 when the server is full", async () => {
  await using env = await setup({ maxClients: 1 });
  await using first = spawnCli(env.args);
  await first.writeStdin("one\n");
  await first.waitForLine(/^reply eno$/);
  const { code, stdout, stderr } = await runCli(env.args, { stdin: "two\n" });
  assert.equal(code, 1);
  assert.match(stdout, /^error Server full: 1 client connected, the limit is 1/m);
  assert.match(stderr, /Connection to 127\.0\.0\.1:\d+ lost: .*\(server said: Server full/);
});

Deno.test("clientcli refused by the per-address cap names the cap as a possible cause", async () => {
  await using env = await setup({ maxPerAddress: 1, capLoopback: true });
  await using first = spawnCli(env.args);
  await first.writeStdin("one\n");
  await first.waitForLine(/^reply eno$/);
  const { code, stderr } = await runCli(env.args, { stdin: "two\n" });
  assert.equal(code, 1);
  // Before: only "it may require a client certificate", from a server that requires none.
  assert.match(stderr, /connections from this address/);
});

/** servercli as a daemon and a clientcli to it whose first `line` has been answered. */
async function daemonSession(line: string) {
  const pki = await makePki();
  const srv = await startDaemon(["servercli", "--certs", pki.dir, "--period", PERIOD]);
  const cli = spawnCli(clientcliArgs(srv.port, pki.paths.ca));
  const session = {
    srv,
    cli,
    async [Symbol.asyncDispose]() {
      await cli[Symbol.asyncDispose]();
      await srv[Symbol.asyncDispose]();
      await pki.close();
    },
  };
  try {
    await cli.writeStdin(`${line}\n`);
    await cli.waitForLine(new RegExp(`^reply ${reverseLine(line)}$`));
    return session;
  } catch (err) {
    await session[Symbol.asyncDispose]();
    throw err;
  }
}

Deno.test("clientcli says the connection was lost and exits 1 when the server is killed mid-session", async () => {
  await using session = await daemonSession("hello");
  const { srv, cli } = session;
  srv.kill("SIGKILL");
  const status = await cli.status;
  assert.equal(status.code, 1);
  assert.match(cli.stderrText(), new RegExp(`Connection to 127\\.0\\.0\\.1:${srv.port} lost`));
});

Deno.test("servercli exits 0 on SIGTERM after telling clientcli it is going away", async () => {
  await using session = await daemonSession("hi");
  const { srv, cli } = session;
  srv.kill("SIGTERM");
  await cli.waitForLine(/^error Server is shutting down \(going away\)$/);
  assert.equal((await cli.status).code, 1);
  assert.match(cli.stderrText(), /lost: .*server said: Server is shutting down/);
  assert.equal((await srv.status).code, 0, srv.stderrText());
});
