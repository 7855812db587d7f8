/**
 * `broker listen --save-binary DIR` that cannot write to DIR must not take a
 * message off its queue: it fails before subscribing, and the next listener
 * gets the message.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { makePki, runCli, spawnCli } from "./harness/mod.ts";
import { connected, freePort, startClient, startServer } from "./broker_helpers.ts";

Deno.test("broker listen --save-binary with a missing directory exits 2 before subscribing; the message stays queued", async () => {
  await using pki = await makePki({ clients: ["alice"] });
  const tmp = await Deno.makeTempDir({ prefix: "sockkit-broker-save-binary-" });
  try {
    const port = freePort();
    const sdir = join(tmp, "server");
    const cdir = join(tmp, "alice");
    await using _server = await startServer(pki.dir, sdir, port);
    await using client = startClient(pki.dir, cdir, "alice", port);
    await connected(client);
    const bin = join(tmp, "part.bin");
    await Deno.writeFile(bin, new Uint8Array([1, 2, 3]));
    const sent = await runCli([
      "broker",
      "send",
      "--dir",
      cdir,
      "--type",
      "chat",
      "--text",
      "with a binary part",
      "--binary-file",
      bin,
      "--ack",
    ]);
    assert.equal(sent.code, 0, sent.stderr);

    const bad = await runCli([
      "broker",
      "listen",
      "--dir",
      sdir,
      "--type",
      "chat",
      "--count",
      "1",
      "--save-binary",
      join(tmp, "nonexistent"),
    ], { timeoutMs: 20_000 });
    assert.equal(bad.code, 2, bad.stderr);
    assert.match(
      bad.stderr,
      /Cannot save binary parts in --save-binary ".*nonexistent": directory not found/,
    );
    assert.equal(bad.stdout, "");

    const saved = join(tmp, "saved");
    await Deno.mkdir(saved);
    await using good = spawnCli([
      "broker",
      "listen",
      "--dir",
      sdir,
      "--type",
      "chat",
      "--count",
      "1",
      "--save-binary",
      saved,
    ]);
    assert.equal((await good.status).code, 0, good.stderrText());
    const line = JSON.parse(good.stdoutLines[0]!);
    assert.equal(line.data, "with a binary part");
    assert.deepEqual(await Deno.readFile(line.binaryFile), new Uint8Array([1, 2, 3]));
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("broker listen --save-binary whose directory vanishes refuses the message it cannot save: it and later ones stay queued", async () => {
  await using pki = await makePki({ clients: ["alice"] });
  const tmp = await Deno.makeTempDir({ prefix: "sockkit-broker-save-binary-" });
  try {
    const port = freePort();
    const sdir = join(tmp, "server");
    const cdir = join(tmp, "alice");
    await using _server = await startServer(pki.dir, sdir, port);
    await using client = startClient(pki.dir, cdir, "alice", port);
    await connected(client);
    const bin = join(tmp, "part.bin");
    await Deno.writeFile(bin, new Uint8Array([7, 8, 9]));
    // the directory exists when listen checks it, and is gone when the messages arrive
    const vanishing = join(tmp, "vanishing");
    await Deno.mkdir(vanishing);
    await using bad = spawnCli([
      "broker",
      "listen",
      "--dir",
      sdir,
      "--type",
      "chat",
      "--save-binary",
      vanishing,
    ]);
    await bad.waitForLine(/listening for "chat"/, 30_000);
    await Deno.remove(vanishing);
    for (const text of ["first", "second"]) {
      const sent = await runCli([
        "broker",
        "send",
        "--dir",
        cdir,
        "--type",
        "chat",
        "--text",
        text,
        "--binary-file",
        bin,
        "--ack",
      ]);
      assert.equal(sent.code, 0, sent.stderr);
    }
    assert.equal((await bad.status).code, 1);
    assert.match(bad.stderrText(), /Cannot save the binary part of message .* stays queued/);
    assert.equal(bad.stdoutText(), "", "a message it could not save is not reported as taken");

    const saved = join(tmp, "saved");
    await Deno.mkdir(saved);
    const rest = await runCli([
      "broker",
      "listen",
      "--dir",
      sdir,
      "--type",
      "chat",
      "--count",
      "2",
      "--save-binary",
      saved,
    ], { timeoutMs: 20_000 });
    assert.equal(rest.code, 0, rest.stderr);
    const got = rest.stdout.trim().split("\n").map((l) => JSON.parse(l).data as string);
    assert.deepEqual(got, ["first", "second"]);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
