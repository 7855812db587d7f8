import assert from "node:assert/strict";
import { join } from "node:path";
import { freePort, runCli, spawnCli, tempDir } from "./harness/mod.ts";
import { chatClientArgs, chatServer } from "./_chat/broker_chat.ts";

Deno.test("broker chat --accept asks before a peer joins: y admits it, anything else refuses it for good; !exit leaves", async (t) => {
  await using dir = await tempDir("sockkit-chat-parity-");
  const tmp = dir.path;
  await t.step("accepted", async () => {
    const port = freePort();
    await using server = chatServer(port, join(tmp, "server-1"), ["--accept"]);
    await server.waitForLine(/^\* waiting for a peer/);
    await using bob = spawnCli(chatClientArgs(port, ["--name", "bob", "--dir", join(tmp, "bob")]));
    await server.waitForLine(
      /^\* bob asks to join from 127\.0\.0\.1:\d+ \(its certificate: [0-9A-F:]{95}\); accept\? \[y\/N\]$/,
    );
    assert.equal(
      bob.stdoutLines.some((l) => /connected to/.test(l)),
      false,
      "not before the answer",
    );
    await server.writeStdin("y\n");
    await server.waitForLine(/^\* bob connected from 127\.0\.0\.1/);
    await bob.writeStdin("hello ann\n");
    await server.waitForLine(/^bob: hello ann$/);
    // !exit ends the chat although its input stays open
    await server.writeStdin("!exit\n");
    await server.waitForLine(/^\* leaving the chat$/);
    assert.equal((await server.status).code, 0);
    await bob.closeStdin();
  });

  await t.step("refused", async () => {
    const port = freePort();
    await using server = chatServer(port, join(tmp, "server-2"), ["--accept"]);
    await server.waitForLine(/^\* waiting for a peer/);
    const bob = runCli(chatClientArgs(port, ["--name", "mallory", "--connect-timeout", "30s"]), {
      stdin: "let me in\n",
    });
    await server.waitForLine(/^\* mallory asks to join/, 30_000);
    await server.writeStdin("no\n");
    await server.waitForLine(/^\* mallory was not accepted$/);
    const r = await bob;
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout + r.stderr, /did not accept "mallory"/);
    assert.equal(server.stdoutLines.some((l) => /let me in/.test(l)), false);
    await server.closeStdin();
    assert.equal((await server.status).code, 0);
  });
});

Deno.test("broker chat !zimport copies a received directory like !import (directories arrive unzipped)", async () => {
  await using dir = await tempDir("sockkit-chat-parity-");
  const tmp = dir.path;
  const port = freePort();
  const cwd = join(tmp, "server-cwd");
  await Deno.mkdir(cwd);
  await using server = chatServer(port, join(tmp, "server"), [], { cwd });
  await server.waitForLine(/^\* waiting for a peer/);
  const tree = join(tmp, "photos");
  await Deno.mkdir(join(tree, "2026"), { recursive: true });
  await Deno.writeTextFile(join(tree, "2026", "a.txt"), "alpha");
  const up = await runCli(chatClientArgs(port, ["--upload", tree]));
  assert.equal(up.code, 0, up.stdout + up.stderr);
  await server.waitForLine(/^\* received directory "photos"/);
  await server.writeStdin("!zimport photos\n");
  await server.waitForLine(/^\* imported "photos" to /);
  assert.equal(await Deno.readTextFile(join(cwd, "photos", "2026", "a.txt")), "alpha");
  await server.writeStdin("!exit\n");
  assert.equal((await server.status).code, 0);
});
