import assert from "node:assert/strict";
import { connect, type Connection, DESCRIPTORS_PER_CONNECTION, listen } from "./mod.ts";

function openSockets(): number {
  let n = 0;
  for (const e of Deno.readDirSync("/proc/self/fd")) {
    try {
      if (Deno.readLinkSync(`/proc/self/fd/${e.name}`).startsWith("socket:")) n++;
    } catch { /* closed meanwhile */ }
  }
  return n;
}

Deno.test({
  name:
    "a server holds DESCRIPTORS_PER_CONNECTION descriptors per accepted connection, none after close",
  ignore: Deno.build.os !== "linux",
  fn: async () => {
    const accepted: Connection[] = [];
    await using server = await listen({ host: "127.0.0.1", port: 0 }, (conn) => {
      accepted.push(conn);
      conn.receive({ data: () => {} });
      return conn.closed;
    });
    const before = openSockets();
    const n = 20;
    const clients: Connection[] = [];
    for (let i = 0; i < n; i++) {
      clients.push(await connect({ host: "127.0.0.1", port: server.port }));
    }
    while (accepted.length < n) await new Promise((r) => setTimeout(r, 5));
    // Each client holds one descriptor in this same process.
    assert.equal(openSockets() - before, n * (1 + DESCRIPTORS_PER_CONNECTION));
    for (const c of clients) c.destroy();
    await Promise.all(accepted.map((c) => c.closed));
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(openSockets(), before);
  },
});
