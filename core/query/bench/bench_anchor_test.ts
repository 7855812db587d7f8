import assert from "node:assert/strict";
import { join } from "node:path";
import { writeBenchData } from "./mod.ts";
import { startPythonAnchor } from "./bench_anchor.ts";
import { startCeiling } from "./bench_ceiling.ts";
import { exchange } from "../client.ts";
import { startQueryServer } from "../server.ts";
import { loadDataSpec } from "../spec.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

const KEYS = ["0pt01", "0pt0250", "0pt0500", "0pt0501", "0pt0abc"];

Deno.test("the bench's Python anchor and runtime ceilings answer every query byte for byte as sockkit does with the bench handler", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "sockkit-anchor-test-" });
  try {
    const data = await writeBenchData(dir, 500);
    await using server = await startQueryServer({
      spec: await loadDataSpec(data.spec),
      handler: data.handler,
      host: "127.0.0.1",
      port: 0,
      tcp: false,
    });
    const references: Array<[string, () => Promise<AsyncDisposable & { port: number }>, string[]]> =
      [
        ["python anchor", () => startPythonAnchor(dir, data.csv), KEYS],
        // The ceilings share sockkit's header checks, so error replies match too (a malformed
        // header, "1pt01", gets none over UDP from either).
        ["ceiling, deno", () => startCeiling(data, "deno"), [...KEYS, "0Ht01"]],
        ["ceiling, node", () => startCeiling(data, "node"), [...KEYS, "0Ht01"]],
      ];
    for (const [name, start, queries] of references) {
      await t.step(name, async () => {
        await using reference = await start();
        for (const query of queries) {
          const bytes = enc.encode(query);
          const [a, s] = await Promise.all([
            exchange(bytes, { port: reference.port, transport: "udp", timeoutMs: 3000 }),
            exchange(bytes, { port: server.udpPort!, transport: "udp", timeoutMs: 3000 }),
          ]);
          assert.equal(dec.decode(a), dec.decode(s), `query ${query}`);
        }
      });
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("startPythonAnchor() says what to do when Python cannot be run", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sockkit-anchor-test-" });
  try {
    await assert.rejects(
      startPythonAnchor(dir, join(dir, "rows.csv"), { python: join(dir, "no-python") }),
      /Cannot start the Python anchor with ".*no-python": .*\(install Python 3 or put python3 on PATH\)/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
