/**
 * `search bench --pdf`: the PDF is read back with poppler (pdfinfo,
 * pdftotext), must hold the report's sections and tables in speed order,
 * and its first page, rendered by pdftoppm, must not be blank.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { rankedMethods, type SearchBenchResult } from "../core/search/mod.ts";
import { runCli, withPoppler } from "./harness/mod.ts";

async function tool(cmd: string, args: string[]): Promise<string> {
  let out;
  try {
    out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  } catch (err) {
    throw new Error(
      `Cannot run ${cmd}: ${(err as Error).message} (install poppler-utils; .ci/run does)`,
    );
  }
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, `${cmd} ${args.join(" ")} failed: ${stderr}`);
  return new TextDecoder().decode(out.stdout);
}

/** Share of pixels darker than light grey in a binary PGM (P5) image. */
function inkShare(pgm: Uint8Array): number {
  const header = new TextDecoder().decode(pgm.subarray(0, 64));
  const m = /^P5\s+(\d+)\s+(\d+)\s+(\d+)\s/.exec(header);
  assert.ok(m, `not a binary PGM: ${JSON.stringify(header.slice(0, 20))}`);
  const pixels = pgm.subarray(m[0].length);
  assert.equal(pixels.length, Number(m[1]) * Number(m[2]));
  let dark = 0;
  for (const p of pixels) if (p < 200) dark++;
  return dark / pixels.length;
}

withPoppler.test("search bench --pdf writes a PDF that holds the tables sorted by speed, the chart and the conclusions", async () => {
  const out = await Deno.makeTempDir({ prefix: "sockkit-search-pdf-test-" });
  try {
    const pdf = join(out, "report.pdf");
    const r = await runCli(
      [
        "search",
        "bench",
        "--sizes",
        "300,1000",
        "--queries",
        "5",
        "--load-seconds",
        "0",
        "--out",
        out,
        "--pdf",
        pdf,
      ],
      { timeoutMs: 120_000 },
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`pdf: ${pdf}`));
    const bytes = await Deno.readFile(pdf);
    assert.equal(new TextDecoder().decode(bytes.subarray(0, 5)), "%PDF-");

    const info = await tool("pdfinfo", [pdf]);
    assert.match(info, /^Title:\s+sockkit search: benchmark of search methods$/m);
    const pages = Number(/^Pages:\s+(\d+)$/m.exec(info)?.[1]);
    assert.ok(pages >= 2, info);

    const text = await tool("pdftotext", ["-layout", pdf, "-"]);
    for (
      const section of [
        "sockkit search: benchmark of search methods",
        "reread mode (sorted by p50 at 1,000 lines)",
        "index mode (sorted by p50 at 1,000 lines)",
        "The server uses simd-worker",
        "The server uses byte-table",
        "Methods",
      ]
    ) assert.ok(text.includes(section), `the PDF lacks "${section}":\n${text}`);

    // The chart: its bold texts (panel titles) from chart.svg are in the PDF as text.
    const svg = await Deno.readTextFile(join(out, "chart.svg"));
    const titles = [...svg.matchAll(/<text[^>]*font-weight="bold"[^>]*>([^<]+)<\/text>/g)]
      .map((m) => m[1]!);
    assert.ok(titles.length >= 2, "the chart has panel titles");
    for (const title of titles) {
      assert.ok(text.includes(title), `the PDF lacks chart text "${title}"`);
    }

    // Each table lists the methods fastest first, as results.json ranks them.
    const result = JSON.parse(
      await Deno.readTextFile(join(out, "results.json")),
    ) as SearchBenchResult;
    const tables = text.split(/(?=(?:reread|index) mode \(sorted by p50)/).slice(1);
    assert.equal(tables.length, 2);
    for (const [i, mode] of (["reread", "index"] as const).entries()) {
      const rows = tables[i]!.split("\n").map((l) => l.trim().split(/\s{2,}/)[0]!)
        .map((name) => name.replace(/ \(server\)$/, ""));
      const order = rankedMethods(result, mode);
      const seen = order.map((m) => rows.indexOf(m));
      assert.ok(seen.every((at) => at > 0), `${mode}: every method has a row`);
      assert.deepEqual([...seen].sort((a, b) => a - b), seen, `${mode} rows in speed order`);
    }

    // Page 1 rendered: a PNG for people, a grey map to check it is not blank.
    await tool("pdftoppm", ["-png", "-r", "50", "-f", "1", "-l", "1", pdf, join(out, "page")]);
    const png = await Deno.readFile(join(out, "page-1.png"));
    assert.deepEqual([...png.subarray(1, 4)], [0x50, 0x4e, 0x47]); // "PNG"
    const view = new DataView(png.buffer, png.byteOffset);
    assert.ok(view.getUint32(16) > view.getUint32(20), "landscape page");
    await tool("pdftoppm", ["-gray", "-r", "50", "-f", "1", "-l", "1", pdf, join(out, "grey")]);
    const ink = inkShare(await Deno.readFile(join(out, "grey-1.pgm")));
    assert.ok(ink > 0.005 && ink < 0.5, `page 1 has ink on ${(ink * 100).toFixed(2)}% of pixels`);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});
