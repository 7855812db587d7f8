import { join } from "node:path";
import type { DemoContext } from "../demo/context.ts";
import { certPaths, loadCertsDirTls, loadClientTls } from "../pki/mod.ts";
import { SearchClient } from "./client.ts";
import type { IndexMatcher } from "./index_matcher.ts";
import { startSearchServer } from "./server.ts";
import { delay } from "../async/mod.ts";

/**
 * The search demo: a TLS search server in index mode over a small word file
 * answers a found and a missing word, sees a line appended to the file after
 * the index rebuild, then a plain reread-mode server answers the same file.
 */
export async function demo(ctx: DemoContext): Promise<string[]> {
  const file = join(ctx.dir, "search-words.txt");
  await Deno.writeTextFile(file, "apple\nbanana\ncafé\r\ndate\n");
  const paths = certPaths(ctx.certsDir);
  const tls = await loadCertsDirTls(ctx.certsDir, { allowList: false });
  const out: string[] = [];
  {
    await using server = await startSearchServer({
      file,
      host: "127.0.0.1",
      port: 0,
      tls,
      logger: ctx.logger,
    });
    const clientTls = await loadClientTls({ ca: paths.ca });
    await using client = await SearchClient.connect({
      host: "127.0.0.1",
      port: server.port,
      tls: { ...clientTls, servername: "localhost" },
    });
    const answer = async (q: string) =>
      `${q} → ${(await client.query(q)) ? "EXISTS" : "NOT FOUND"}`;
    out.push(`TLS index mode on :${server.port}: ${await answer("café")}, ${await answer("fig")}`);
    const matcher = server.matcher as IndexMatcher;
    const before = matcher.rebuilds;
    await Deno.writeTextFile(file, "fig\n", { append: true });
    const deadline = Date.now() + 5000;
    while (matcher.rebuilds === before && Date.now() < deadline && !ctx.signal.aborted) {
      await delay(20);
    }
    if (matcher.rebuilds === before) {
      throw new Error("The index was not rebuilt after the file changed");
    }
    out.push(`appended "fig", index rebuilt (${matcher.lines} lines): ${await answer("fig")}`);
  }
  {
    await using server = await startSearchServer({
      file,
      host: "127.0.0.1",
      port: 0,
      rereadOnQuery: true,
      logger: ctx.logger,
    });
    await using client = await SearchClient.connect({ host: "127.0.0.1", port: server.port });
    await Deno.writeTextFile(file, "grape\n", { append: true });
    out.push(
      `reread mode on :${server.port}: appended "grape" → ${
        (await client.query("grape")) ? "EXISTS" : "NOT FOUND"
      } on the very next query`,
    );
  }
  return out;
}
