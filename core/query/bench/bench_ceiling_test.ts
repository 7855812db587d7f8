import assert from "node:assert/strict";
import { writeBenchData } from "./mod.ts";
import { startCeiling } from "./bench_ceiling.ts";
import { exchange } from "../client.ts";
import { startQueryServer } from "../server.ts";
import { loadDataSpec } from "../spec.ts";
import type { DatagramBackend } from "../../net/mod.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

for (const backend of ["deno", "node"] as DatagramBackend[]) {
  Deno.test(`the bench's runtime ceiling (${backend}) answers every query byte for byte as sockkit does`, async () => {
    const dir = await Deno.makeTempDir({ prefix: "sockkit-ceiling-test-" });
    try {
      const data = await writeBenchData(dir, 500);
      await using ceiling = await startCeiling(data, backend);
      await using server = await startQueryServer({
        spec: await loadDataSpec(data.spec),
        handler: data.handler,
        host: "127.0.0.1",
        port: 0,
        tcp: false,
      });
      for (const query of ["0pt01", "0pt0500", "0pt0501", "0pt0abc", "1pt01", "0Ht01"]) {
        const bytes = enc.encode(query);
        const [c, s] = await Promise.all([
          exchange(bytes, { port: ceiling.port, transport: "udp", timeoutMs: 3000 }),
          exchange(bytes, { port: server.udpPort!, transport: "udp", timeoutMs: 3000 }),
        ]);
        assert.equal(dec.decode(c), dec.decode(s), `query ${query}`);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}
