import assert from "node:assert/strict";
import { join } from "node:path";
import { freePort, runCli, spawnCli, tempDir } from "./harness/mod.ts";
import { chatClientArgs, chatServer } from "./_chat/broker_chat.ts";

Deno.test("broker chat with piped input delivers every line before exiting 0; the server names a non-default port", async () => {
  await using tmp = await tempDir("sockkit-chat-piped-");
  const port = freePort();
  await using server = chatServer(port, join(tmp.path, "server"));
  await server.waitForLine(
    new RegExp(
      `^\\* waiting for a peer \\(sockkit broker chat --target THIS_HOST --port ${port}\\)$`,
    ),
  );
  const r = await runCli(chatClientArgs(port, ["--name", "bob"]), {
    stdin: "first line\nsecond line\nthird line",
  });
  assert.equal(r.code, 0, r.stdout + r.stderr);
  await server.waitForLine(/^bob: first line$/);
  await server.waitForLine(/^bob: second line$/);
  await server.waitForLine(/^bob: third line$/);
  await server.closeStdin();
  assert.equal((await server.status).code, 0);
});

Deno.test("broker chat and --upload to an unreachable peer fail with exit 1 after --connect-timeout", async () => {
  await using tmp = await tempDir("sockkit-chat-piped-");
  const port = freePort(); // nothing listens there
  const file = join(tmp.path, "f.txt");
  await Deno.writeTextFile(file, "x");
  for (const extra of [[], ["--upload", file]]) {
    const started = Date.now();
    const r = await runCli(chatClientArgs(port, ["--connect-timeout", "1s", ...extra]), {
      stdin: "hello\n",
      timeoutMs: 30_000,
    });
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stderr, new RegExp(`Cannot reach the chat peer at 127\\.0\\.0\\.1:${port}`));
    assert.ok(Date.now() - started < 20_000);
  }
});

Deno.test("broker chat !import never overwrites a local file unless --force", async () => {
  await using tmp = await tempDir("sockkit-chat-piped-");
  const port = freePort();
  const cwd = join(tmp.path, "cwd");
  await Deno.mkdir(cwd);
  await Deno.writeTextFile(join(cwd, "note.txt"), "mine");
  const note = join(tmp.path, "note.txt");
  await Deno.writeTextFile(note, "theirs");
  await using server = chatServer(port, join(tmp.path, "server"));
  await server.waitForLine(/^\* waiting for a peer/);
  await using client = spawnCli(
    chatClientArgs(port, ["--name", "bob", "--dir", join(tmp.path, "client")]),
    { cwd },
  );
  await server.waitForLine(/^\* bob connected/);
  await server.writeStdin(`!upload ${note}\n`);
  await client.waitForLine(/^\* received file "note\.txt" from ann/);
  await client.writeStdin("!import note.txt\n");
  const m = await client.waitForLine(/^\* imported "note\.txt" as (.*note\.txt\.1) \(.*--force/);
  assert.equal(await Deno.readTextFile(join(cwd, "note.txt")), "mine");
  assert.equal(await Deno.readTextFile(m[1]!), "theirs");
  await client.writeStdin("!import --force note.txt\n");
  await client.waitForLine(/^\* imported "note\.txt" to .*\(replaced the existing one\)$/);
  assert.equal(await Deno.readTextFile(join(cwd, "note.txt")), "theirs");
  await client.closeStdin();
  assert.equal((await client.status).code, 0);
  await server.closeStdin();
  assert.equal((await server.status).code, 0);
});
