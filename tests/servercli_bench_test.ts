import assert from "node:assert/strict";
import { runCli } from "./harness/mod.ts";

Deno.test("servercli bench --json holds the clients it was asked for and prints one JSON line of figures", async () => {
  const { code, stdout, stderr } = await runCli([
    "servercli",
    "bench",
    "--clients",
    "20",
    "--concurrency",
    "8",
    "--period",
    "200ms",
    "--rounds",
    "1",
    "--echo-clients",
    "2",
    "--echo-seconds",
    "1",
    "--json",
  ], { timeoutMs: 60_000 });
  assert.equal(code, 0, stderr);
  const lines = stdout.trim().split("\n");
  assert.equal(lines.length, 1, stdout);
  const out = JSON.parse(lines[0]!);
  assert.equal(out.service, "servercli");
  const byFigure = new Map<string, { value: number; unit: string }>(
    out.rows.map((
      r: { figure: string; value: number; unit: string },
    ) => [r.figure.replace(/ \(.*\)$/, ""), r]),
  );
  assert.equal(byFigure.get("concurrent TLS clients held")?.value, 20);
  assert.equal(byFigure.get("date broadcast to all 20 clients")?.unit, "ms");
  assert.equal(byFigure.get("server RSS per connection")?.unit, "KiB");
  assert.ok((byFigure.get("reverse-echo lines/s")?.value ?? 0) > 0);
  assert.match(stderr, /open-file limit|ulimit/);
});
