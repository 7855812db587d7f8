import assert from "node:assert/strict";
import { join } from "node:path";
import { writeBenchData } from "./mod.ts";
import { startPythonAnchor } from "./bench_anchor.ts";
import { exchange } from "../client.ts";
import { startQueryServer } from "../server.ts";
import { loadDataSpec } from "../spec.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

Deno.test("the bench's Python anchor answers every query byte for byte as sockkit does with the bench handler", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sockkit-anchor-test-" });
  try {
    const data = await writeBenchData(dir, 500);
    await using anchor = await startPythonAnchor(dir, data.csv);
    await using server = await startQueryServer({
      spec: await loadDataSpec(data.spec),
      handler: data.handler,
      host: "127.0.0.1",
      port: 0,
      tcp: false,
    });
    for (const key of ["1", "250", "500", "501", "abc"]) {
      const query = enc.encode(`0pt0${key}`);
      const [a, s] = await Promise.all([
        exchange(query, { port: anchor.port, transport: "udp", timeoutMs: 3000 }),
        exchange(query, { port: server.udpPort!, transport: "udp", timeoutMs: 3000 }),
      ]);
      assert.equal(dec.decode(a), dec.decode(s), `query ${key}`);
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
