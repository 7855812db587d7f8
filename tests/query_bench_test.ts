import assert from "node:assert/strict";
import { runCli } from "./harness/mod.ts";
import { parseBenchOutput, ratio } from "../tools/bench.ts";

const SMALL = [
  "query",
  "bench",
  "--rows",
  "500",
  "--udp-queries",
  "300",
  "--tcp-queries",
  "20",
  "--seconds",
  "1",
];

const CEILINGS = [
  "runtime ceiling: no handler isolation (Deno.listenDatagram)",
  "runtime ceiling: no handler isolation (node:dgram)",
];

Deno.test("query bench --json puts the runtime ceiling beside sockkit, each with its ratio to the Python anchor", async () => {
  const { code, stdout, stderr } = await runCli([...SMALL, "--json"], { timeoutMs: 120_000 });
  assert.equal(code, 0, stderr);
  // tools/bench.ts reads these rows (figure/value/unit and the anchor).
  const rows = parseBenchOutput("query", stdout);
  const raw = JSON.parse(stdout.trim()).rows as Array<Record<string, unknown>>;
  for (const n of [1, 32]) {
    const figure = (name: string) => `query ${name}, ${n} in flight: queries/s (500 rows)`;
    const anchored = [...CEILINGS, "udp plain"].map((name) => {
      const i = rows.findIndex((r) => r.figure === figure(name));
      assert.ok(i >= 0, `no row "${figure(name)}" in ${stdout}`);
      return { name, row: rows[i]!, raw: raw[i]! };
    });
    const anchorValues = new Set(anchored.map((a) => a.row.anchorValue));
    assert.equal(anchorValues.size, 1, "every case of a level has the same anchor");
    for (const { name, row, raw } of anchored) {
      assert.equal(row.unit, "queries/s");
      assert.ok(row.value > 0, `${name}: ${row.value}`);
      assert.equal(row.anchor, "Python socketserver UDP, same lookup");
      assert.ok((row.anchorValue ?? 0) > 0);
      assert.equal(raw.ratio, Math.round((row.value / row.anchorValue!) * 100) / 100);
      assert.match(ratio(row), /×$/);
      assert.equal(row.target, name === "udp plain" ? ">= 1.5x" : undefined, name);
    }
    for (const name of CEILINGS) {
      assert.ok(rows.some((r) => r.figure === `query ${name}, ${n} in flight: p50`), name);
    }
  }
});

Deno.test("query bench prints the ceiling's ratio to the anchor and sockkit's to the ceiling, and --no-ceiling leaves the ceiling out", async () => {
  const withCeiling = await runCli([...SMALL, "--in-flight", "1"], { timeoutMs: 120_000 });
  assert.equal(withCeiling.code, 0, withCeiling.stderr);
  for (const name of CEILINGS) {
    assert.match(
      withCeiling.stdout,
      new RegExp(
        `^${
          name.replace(/[().]/g, "\\$&")
        } / python socketserver \\(anchor\\), 1 in flight: \\d+\\.\\d\\dx \\(no target: the handler inline, not isolated\\)$`,
        "m",
      ),
    );
  }
  assert.match(
    withCeiling.stdout,
    /^udp plain \/ python socketserver \(anchor\), 1 in flight: \d+\.\d\dx \(target >= 1\.5x: (met|not met)\)$/m,
  );
  assert.match(
    withCeiling.stdout,
    /^udp plain \/ runtime ceiling: no handler isolation \(Deno\.listenDatagram\), 1 in flight: \d+\.\d\dx \(the handler in a worker against inline\)$/m,
  );
  const without = await runCli([...SMALL, "--in-flight", "1", "--no-ceiling"], {
    timeoutMs: 120_000,
  });
  assert.equal(without.code, 0, without.stderr);
  assert.doesNotMatch(without.stdout, /runtime ceiling/);
  assert.match(without.stdout, /^udp plain \/ python socketserver \(anchor\), 1 in flight: /m);
});
