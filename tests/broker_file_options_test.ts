import assert from "node:assert/strict";
import { join } from "node:path";
import { makePki, runCli } from "./harness/mod.ts";
import { connected, freePort, startClient, startServer, stop } from "./broker_helpers.ts";

Deno.test("broker send --file stores under --name, removes the source only once stored with --delete, and a refusing receiver keeps its file", async () => {
  await using pki = await makePki({ clients: ["alice"] });
  const tmp = await Deno.makeTempDir({ prefix: "sockkit-broker-file-options-" });
  await using _cleanup = {
    [Symbol.asyncDispose]: () => Deno.remove(tmp, { recursive: true }).catch(() => {}),
  };
  const port = freePort();
  const files = join(tmp, "received");
  const sdir = join(tmp, "server");
  const cdir = join(tmp, "alice");
  await using server = await startServer(pki.dir, sdir, port, [
    "--file-dir",
    `files=${files}`,
    "--on-exists",
    "refuse",
  ]);
  await using client = startClient(pki.dir, cdir, "alice", port);
  await connected(client);
  const src = join(tmp, "draft.txt");
  await Deno.writeTextFile(src, "first");
  const send = (...extra: string[]) =>
    runCli(["broker", "send", "--dir", cdir, "--type", "files", "--file", src, ...extra]);

  const first = await send("--name", "report.txt", "--delete");
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stdout, new RegExp(`stored at ${join(files, "report.txt")}`));
  assert.equal(await Deno.readTextFile(join(files, "report.txt")), "first");
  await assert.rejects(Deno.stat(src), Deno.errors.NotFound, "--delete removes the source");

  await Deno.writeTextFile(src, "second");
  const again = await send("--name", "report.txt", "--delete");
  assert.equal(again.code, 1);
  assert.match(
    again.stderr,
    /refused the file: .*already exists and this receiver refuses to replace it \(--on-exists refuse\)/,
  );
  assert.equal(
    await Deno.readTextFile(join(files, "report.txt")),
    "first",
    "the stored file stays",
  );
  assert.equal(await Deno.readTextFile(src), "second", "a refused send keeps its source");

  const bad = await send("--name", "../escape.txt");
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /Invalid file name "\.\.\/escape\.txt" to store under/);

  const usage = await runCli(["broker", "send", "--dir", cdir, "--type", "files", "--delete"]);
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /--name and --delete go with --file/);

  assert.equal(await stop(client), 0);
  assert.equal(await stop(server), 0);
});
