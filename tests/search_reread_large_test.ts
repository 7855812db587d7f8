/**
 * Reread mode over a file large enough to be read by every worker at once
 * (each a byte range), under many concurrent clients whose queries share
 * reads: every answer is right, and a change is seen by the next query.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { SearchClient, SPLIT_FROM_BYTES, startSearchServer } from "../core/search/mod.ts";

/** `n` distinct lines of 20 to 30 bytes. */
function lines(n: number, tag: string): string[] {
  return Array.from({ length: n }, (_, i) => `${tag}-${i};${"x".repeat(i % 11)}`);
}

Deno.test("search in reread mode answers 64 concurrent clients right over a file split between workers, and sees each change at once", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = join(dir, "big.txt");
    const all = lines(160_000, "row"); // about 3.4 MB, over the split size
    await Deno.writeTextFile(file, all.join("\n") + "\n");
    assert.ok((await Deno.stat(file)).size > SPLIT_FROM_BYTES);
    await using server = await startSearchServer({
      file,
      rereadOnQuery: true,
      workers: 2,
      host: "127.0.0.1",
      port: 0,
    });
    const asks = Array.from({ length: 64 }, (_, c) => {
      const n = (c * 2503) % all.length; // spread over the whole file, first and last parts too
      return [all[n]!, `${all[n]!}!`, all[(n + 7919) % all.length]!.slice(1)];
    });
    asks[0]![0] = all[0]!;
    asks[1]![0] = all.at(-1)!;
    // The lines around the middle byte, where the two workers' parts meet.
    const size = (await Deno.stat(file)).size;
    let mid = 0;
    for (let at = 0; at + all[mid]!.length + 1 <= Math.floor(size / 2); mid++) {
      at += all[mid]!.length + 1;
    }
    for (let k = -2; k <= 2; k++) asks[4 + k]![0] = all[mid + k]!;
    const answers = await Promise.all(asks.map(async (qs) => {
      await using client = await SearchClient.connect({ host: "127.0.0.1", port: server.port });
      // Sent together: they share reads of the file.
      return await Promise.all(qs.map((q) => client.query(q)));
    }));
    answers.forEach((got, c) => assert.deepEqual(got, [true, false, false], asks[c]!.join(" | ")));

    await using client = await SearchClient.connect({ host: "127.0.0.1", port: server.port });
    await Deno.writeTextFile(file, "appended line\n", { append: true });
    assert.equal(await client.query("appended line"), true);
    // An atomic replace by rename: the old lines are gone at once.
    const next = join(dir, "next.txt");
    await Deno.writeTextFile(next, lines(160_000, "new").join("\n") + "\n");
    await Deno.rename(next, file);
    const [oldLine, newLine] = await Promise.all([
      client.query(all[150_000]!),
      client.query("new-150000;" + "x".repeat(150_000 % 11)),
    ]);
    assert.deepEqual([oldLine, newLine], [false, true]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
