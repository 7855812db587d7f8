import assert from "node:assert/strict";
import { anchorRatios, ceilingRatios } from "./bench_ratios.ts";
import { ceilingName } from "./bench_ceiling.ts";
import { ANCHOR, type QueryBenchCase } from "./mod.ts";

const DENO = ceilingName("deno");
const NODE = ceilingName("node");

function udp(name: string, inFlight: number, qps: number, more: Partial<QueryBenchCase> = {}) {
  return {
    name,
    inFlight,
    qps,
    anchor: name === ANCHOR,
    ceiling: name.startsWith("runtime ceiling"),
    transport: "udp",
    encrypted: false,
    queries: 1,
    errors: 0,
    p50Ms: 0,
    p99Ms: 0,
    ...more,
  } satisfies QueryBenchCase;
}

// sockkit ran with --socket node: its ceiling is the node:dgram one.
const cases: QueryBenchCase[] = [
  udp(ANCHOR, 1, 10_000),
  udp(DENO, 1, 12_000, { backend: "deno" }),
  udp(NODE, 1, 8_000, { backend: "node" }),
  udp("udp plain", 1, 4_000, { backend: "node" }),
  udp(ANCHOR, 32, 20_000),
  udp(DENO, 32, 40_000, { backend: "deno" }),
  udp(NODE, 32, 20_000, { backend: "node" }),
  udp("udp plain", 32, 15_000, { backend: "node" }),
  udp("udp encrypted", 32, 1_000, { encrypted: true, backend: "node" }),
];

Deno.test("anchorRatios() compares every plain UDP case with the anchor of its own level in flight", () => {
  assert.deepEqual(
    anchorRatios(cases).map((r) => [r.name, r.inFlight, r.ratio, r.ceiling]),
    [
      [DENO, 1, 1.2, true],
      [NODE, 1, 0.8, true],
      ["udp plain", 1, 0.4, false],
      [DENO, 32, 2, true],
      [NODE, 32, 1, true],
      ["udp plain", 32, 0.75, false],
    ],
  );
});

Deno.test("ceilingRatios() compares sockkit with the ceiling that has the same UDP socket", () => {
  assert.deepEqual(
    ceilingRatios(cases).map((r) => [r.name, r.over, r.inFlight, r.ratio]),
    [["udp plain", NODE, 1, 0.5], ["udp plain", NODE, 32, 0.75]],
  );
});
