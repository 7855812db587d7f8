import assert from "node:assert/strict";
import { formatTable, parseBenchOutput, ratio, runServiceBench } from "../tools/bench.ts";
import { firstAllowedCpu, machineBefore, wakeRows } from "../tools/bench_machine.ts";

Deno.test("bench tool parses the last stdout line of a service bench", () => {
  const row = {
    figure: "objects/s",
    value: 250000,
    unit: "obj/s",
    anchor: "redis-benchmark -P 16 HSET",
    anchorValue: 850000,
    target: ">= 200000",
  };
  const stdout = "warming up\n" + JSON.stringify({ service: "ingest", rows: [row] }) + "\n";
  assert.deepEqual(parseBenchOutput("ingest", stdout), [row]);
});

Deno.test("bench tool rejects output without a JSON last line, naming the service", () => {
  assert.throws(() => parseBenchOutput("search", "a table\n"), {
    name: "SyntaxError",
    message:
      `Invalid output from "sockkit search bench --json": expected one JSON line last, got "a table"`,
  });
  assert.throws(
    () => parseBenchOutput("query", `{"service":"query","rows":[{"figure":"x"}]}`),
    /row 0 needs figure \(string\), value \(number\) and unit \(string\)/,
  );
});

Deno.test("bench tool prints one table with the ratio to the anchor and notes for skipped services", () => {
  const table = formatTable([
    {
      service: "ingest",
      status: "ok",
      rows: [{
        figure: "stored",
        value: 212500,
        unit: "obj/s",
        anchor: "hset",
        anchorValue: 850000,
      }],
    },
    { service: "broker", status: "skipped", note: "not yet" },
  ]);
  const lines = table.split("\n");
  assert.match(lines[0]!, /^service\s+figure\s+value\s+anchor\s+anchor value\s+ratio\s+target$/);
  assert.match(lines[2]!, /^ingest\s+stored\s+212,500 obj\/s\s+hset\s+850,000 obj\/s\s+0\.25×$/);
  assert.equal(lines[3], "broker: skipped: not yet");
  assert.equal(ratio({ figure: "f", value: 3, unit: "ms" }), "");
  assert.equal(ratio({ figure: "f", value: 30, unit: "ms", anchorValue: 2 }), "15×");
});

Deno.test("bench tool skips a service whose bench subcommand does not exist", async () => {
  const res = await runServiceBench("no-such-service", { echoStderr: false });
  assert.equal(res.status, "skipped");
  assert.match((res as { note: string }).note, /^no "sockkit no-such-service bench --json" \(/);
});

Deno.test("bench tool collects a bench's JSON line from stdout while its stderr streams", async () => {
  const fake = `
    if (Deno.args.join(" ") !== "search bench --json") Deno.exit(3);
    console.error("progress: 50%");
    console.log("a table line");
    console.log(JSON.stringify({ service: "search", rows: [{ figure: "p50", value: 1.5, unit: "ms", anchorValue: 6 }] }));
  `;
  const res = await runServiceBench("search", {
    echoStderr: false,
    launcher: [Deno.execPath(), "eval", fake],
  });
  assert.deepEqual(res, {
    service: "search",
    status: "ok",
    rows: [{ figure: "p50", value: 1.5, unit: "ms", anchorValue: 6 }],
  });
});

Deno.test("bench tool reports a bench that fails with its exit code and first error line", async () => {
  const res = await runServiceBench("query", {
    echoStderr: false,
    launcher: [Deno.execPath(), "eval", `console.error("sockkit: redis is down"); Deno.exit(1);`],
  });
  assert.deepEqual(res, {
    service: "query",
    status: "failed",
    note: "exit code 1: sockkit: redis is down",
  });
});

async function hasTaskset(): Promise<boolean> {
  try {
    return (await new Deno.Command("taskset", { args: ["-V"], stdout: "null" }).output()).success;
  } catch {
    return false;
  }
}

Deno.test("bench tool's machine rows: the load average, and thread wake-up round trips next to the same on one CPU", async () => {
  const results = await machineBefore();
  assert.equal(results.length, 1, JSON.stringify(results));
  const before = results[0]!;
  assert.equal(before.status, "ok", before.status === "ok" ? "" : before.note);
  if (before.status !== "ok") return;
  const [load, ...wake] = before.rows;
  assert.equal(load?.figure, "load average (1 min) before the benches");
  assert.ok(load!.value >= 0);
  assert.deepEqual(wake.map((r) => r.figure.split(", ").at(-1)), ["p50", "p90", "p99"]);
  for (const r of wake) {
    assert.equal(r.unit, "ms");
    // A round trip between two threads takes some time, and far less than a second.
    assert.ok(r.value > 0 && r.value < 1000, `${r.figure}: ${r.value} ms`);
    if (!await hasTaskset()) continue; // util-linux's taskset: on every Debian
    assert.equal(r.anchor, "the same, both threads on one CPU (taskset -c)");
    assert.ok(r.anchorValue! > 0 && r.anchorValue! < 1000);
  }
  assert.ok(wake[0]!.value <= wake[1]!.value && wake[1]!.value <= wake[2]!.value);
  assert.match(formatTable([before]), /machine +thread wake-up: postMessage round trip/);
});

Deno.test("bench tool pins the one-CPU probe to the first CPU this process may use", () => {
  assert.equal(firstAllowedCpu("Name:\tdeno\nCpus_allowed_list:\t2-3,6\n"), 2);
  assert.equal(firstAllowedCpu("Cpus_allowed_list:\t0\n"), 0);
  assert.equal(firstAllowedCpu(""), 0);
});

Deno.test("bench tool's wake-up rows have no anchor where taskset is missing", () => {
  const rows = wakeRows({ p50: 0.1, p90: 0.4, p99: 0.9 }, undefined);
  assert.deepEqual(rows.map((r) => [r.value, r.anchor]), [[0.1, undefined], [0.4, undefined], [
    0.9,
    undefined,
  ]]);
});
