import assert from "node:assert/strict";
import { join } from "node:path";
import { runCli } from "./harness/mod.ts";
import { brokerSite } from "./broker_helpers.ts";

Deno.test("broker send --file stores under --name, removes the source only once stored with --delete, and a refusing receiver keeps its file", async () => {
  await using site = await brokerSite("sockkit-broker-file-options-");
  const { root: tmp, cdir } = site;
  const files = join(tmp, "received");
  await using link = await site.link(["--file-dir", `files=${files}`, "--on-exists", "refuse"]);
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

  assert.deepEqual(await link.stop(), { client: 0, server: 0 });
});

Deno.test("broker serve --max-file-size refuses a larger file to its sender, keeps nothing of it, and stores one within it", async () => {
  await using site = await brokerSite("sockkit-broker-file-cap-");
  const { root: tmp, cdir } = site;
  const files = join(tmp, "received");
  await using link = await site.link(["--file-dir", `files=${files}`, "--max-file-size", "16"]);
  const big = join(tmp, "big.bin");
  await Deno.writeTextFile(big, "x".repeat(32));
  const r = await runCli(["broker", "send", "--dir", cdir, "--type", "files", "--file", big]);
  assert.equal(r.code, 1, r.stdout);
  assert.match(
    r.stderr,
    /it is 32 bytes, over this receiver's cap of 16 bytes a transfer \(--max-file-size\)/,
  );
  assert.deepEqual([...Deno.readDirSync(files)], [], "no file and no partial one");
  const small = join(tmp, "small.txt");
  await Deno.writeTextFile(small, "sixteen bytes ok");
  const ok = await runCli(["broker", "send", "--dir", cdir, "--type", "files", "--file", small]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(await Deno.readTextFile(join(files, "small.txt")), "sixteen bytes ok");
  assert.deepEqual(await link.stop(), { client: 0, server: 0 });
});
