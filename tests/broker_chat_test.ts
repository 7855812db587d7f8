import assert from "node:assert/strict";
import { join } from "node:path";
import { createHash } from "node:crypto";
import { freePort, runCli, spawnCli, tempDir } from "./harness/mod.ts";
import { chatClientArgs, chatServer } from "./_chat/broker_chat.ts";

function sha(path: string): string {
  return createHash("sha256").update(Deno.readFileSync(path)).digest("hex");
}

Deno.test("broker chat: lines cross both ways, !upload of a file and a directory arrive intact, --upload exits 0", async () => {
  await using tmp = await tempDir("sockkit-broker-chat-");
  const root = tmp.path;
  const port = freePort();
  const sdir = join(root, "server-side");
  const cwd = join(root, "client-cwd");
  await Deno.mkdir(cwd);
  await using server = chatServer(port, sdir);
  const fp = (await server.waitForLine(/^\* server certificate SHA-256 ([0-9A-F:]{95})$/))[1]!;
  await using client = spawnCli(
    chatClientArgs(port, ["--name", "bob", "--dir", join(root, "client-side")]),
    { cwd },
  );
  // both screens show the same server fingerprint
  assert.equal(
    (await client.waitForLine(/^\* server certificate SHA-256 ([0-9A-F:]{95})$/))[1],
    fp,
  );
  await server.waitForLine(/^\* bob connected from 127\.0\.0\.1:\d+/);

  await client.writeStdin("hello ann\n");
  await server.waitForLine(/^bob: hello ann$/);
  await server.writeStdin("hi bob, how are you?\n");
  await client.waitForLine(/^ann: hi bob, how are you\?$/);
  // A peer's line cannot steer the terminal or pass for a line of ours: its controls show as escapes.
  await client.writeStdin("ok\x1b[2K\r* ann disconnected\x07\n");
  await server.waitForLine(/^bob: ok\\e\[2K\\r\* ann disconnected\\x07$/);

  // shell commands are not offered
  await client.writeStdin("!ls /\n");
  await client.waitForLine(/^\* unknown command "!ls": .*shell commands are not offered/);

  // !upload a file and a directory from the server side; !import on the client side
  const file = join(root, "notes.txt");
  await Deno.writeTextFile(file, "line\n".repeat(300_000));
  const tree = join(root, "album");
  await Deno.mkdir(join(tree, "2024"), { recursive: true });
  await Deno.writeFile(join(tree, "2024", "a.jpg"), crypto.getRandomValues(new Uint8Array(60_000)));
  await Deno.writeTextFile(join(tree, "index.txt"), "a.jpg\n");
  await server.writeStdin(`!upload ${file}\n`);
  await server.waitForLine(/^\* sent file ".*notes\.txt" \(1 file\(s\), 1500000 bytes\)$/);
  await client.waitForLine(/^\* received file "notes\.txt" from ann .*"!import notes\.txt"/);
  await server.writeStdin(`!upload ${tree}\n`);
  await server.waitForLine(/^\* sent directory ".*album" \(2 file\(s\), 60006 bytes\)$/);
  await client.waitForLine(/^\* received directory "album" from ann/);
  await client.writeStdin("!import notes.txt\n!import album\n");
  await client.waitForLine(/^\* imported "album" to /);
  assert.equal(sha(join(cwd, "notes.txt")), sha(file));
  assert.equal(sha(join(cwd, "album", "2024", "a.jpg")), sha(join(tree, "2024", "a.jpg")));
  assert.equal(Deno.readTextFileSync(join(cwd, "album", "index.txt")), "a.jpg\n");

  // --upload sends and exits 0 without opening the chat
  const up = await runCli(chatClientArgs(port, ["--name", "carl", "--upload", file]));
  assert.equal(up.code, 0, up.stderr);
  assert.match(up.stdout, /\* sent file ".*notes\.txt" \(1 file\(s\), 1500000 bytes\)/);
  await server.waitForLine(/^\* received file "notes\.txt" from carl/);
  assert.equal(sha(join(sdir, "received", "notes.txt")), sha(file));

  await client.closeStdin();
  assert.equal((await client.status).code, 0);
  await server.closeStdin();
  assert.equal((await server.status).code, 0);
});
