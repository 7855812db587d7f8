/**
 * `broker listen --save-binary DIR` that cannot write to DIR must not take a
 * message off its queue: it fails before subscribing, and the next listener
 * gets the message.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { runCli, spawnCli } from "./harness/mod.ts";
import { appArgs, type BrokerSite, brokerSite } from "./broker_helpers.ts";

/** A linked server and alice, and a file holding the binary part `bytes`. */
async function linkedWithPart(bytes: number[]): Promise<
  { site: BrokerSite; bin: string } & AsyncDisposable
> {
  const site = await brokerSite("sockkit-broker-save-binary-");
  try {
    const link = await site.link();
    const bin = join(site.root, "part.bin");
    await Deno.writeFile(bin, new Uint8Array(bytes));
    return {
      site,
      bin,
      async [Symbol.asyncDispose]() {
        await link[Symbol.asyncDispose]();
        await site[Symbol.asyncDispose]();
      },
    };
  } catch (err) {
    await site[Symbol.asyncDispose]();
    throw err;
  }
}

/** `broker send` of `text` with the binary part `bin` from alice, acknowledged. */
async function sendWithPart(cdir: string, text: string, bin: string): Promise<void> {
  const sent = await runCli(
    appArgs("send", cdir, "chat", ["--text", text, "--binary-file", bin, "--ack"]),
  );
  assert.equal(sent.code, 0, sent.stderr);
}

/** `broker listen` for `chat` on the server that saves binary parts in `dir`. */
function listenArgs(sdir: string, dir: string, count?: number): string[] {
  return appArgs("listen", sdir, "chat", [
    ...(count === undefined ? [] : ["--count", String(count)]),
    "--save-binary",
    dir,
  ]);
}

Deno.test("broker listen --save-binary with a missing directory exits 2 before subscribing; the message stays queued", async () => {
  await using setup = await linkedWithPart([1, 2, 3]);
  const { site: { root: tmp, sdir, cdir }, bin } = setup;
  await sendWithPart(cdir, "with a binary part", bin);

  const bad = await runCli(listenArgs(sdir, join(tmp, "nonexistent"), 1), { timeoutMs: 20_000 });
  assert.equal(bad.code, 2, bad.stderr);
  assert.match(
    bad.stderr,
    /Cannot save binary parts in --save-binary ".*nonexistent": directory not found/,
  );
  assert.equal(bad.stdout, "");

  const saved = join(tmp, "saved");
  await Deno.mkdir(saved);
  await using good = spawnCli(listenArgs(sdir, saved, 1));
  assert.equal((await good.status).code, 0, good.stderrText());
  const line = JSON.parse(good.stdoutLines[0]!);
  assert.equal(line.data, "with a binary part");
  assert.deepEqual(await Deno.readFile(line.binaryFile), new Uint8Array([1, 2, 3]));
});

Deno.test("broker listen --save-binary whose directory vanishes refuses the message it cannot save: it and later ones stay queued", async () => {
  await using setup = await linkedWithPart([7, 8, 9]);
  const { site: { root: tmp, sdir, cdir }, bin } = setup;
  // the directory exists when listen checks it, and is gone when the messages arrive
  const vanishing = join(tmp, "vanishing");
  await Deno.mkdir(vanishing);
  await using bad = spawnCli(listenArgs(sdir, vanishing));
  await bad.waitForLine(/listening for "chat"/, 30_000);
  await Deno.remove(vanishing);
  for (const text of ["first", "second"]) await sendWithPart(cdir, text, bin);
  assert.equal((await bad.status).code, 1);
  assert.match(bad.stderrText(), /Cannot save the binary part of message .* stays queued/);
  assert.equal(bad.stdoutText(), "", "a message it could not save is not reported as taken");

  const saved = join(tmp, "saved");
  await Deno.mkdir(saved);
  const rest = await runCli(listenArgs(sdir, saved, 2), { timeoutMs: 20_000 });
  assert.equal(rest.code, 0, rest.stderr);
  const got = rest.stdout.trim().split("\n").map((l) => JSON.parse(l).data as string);
  assert.deepEqual(got, ["first", "second"]);
});
