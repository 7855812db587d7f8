import assert from "node:assert/strict";
import { connect, type Connection, DESCRIPTORS_PER_CONNECTION, listen } from "./mod.ts";

/**
 * Descriptors of this process on TCP sockets with `port` at either end. Other test modules of a
 * parallel run share the process, so only the sockets of this test's own server are counted: their
 * inodes come from /proc/net/tcp, and each descriptor pointing at one of them counts.
 */
function openSockets(port: number): number {
  const inodes = new Set<string>();
  for (const line of Deno.readTextFileSync("/proc/net/tcp").split("\n").slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10) continue;
    const local = parseInt(f[1]!.split(":")[1]!, 16);
    const remote = parseInt(f[2]!.split(":")[1]!, 16);
    if ((local === port || remote === port) && f[9] !== "0") inodes.add(f[9]!);
  }
  let n = 0;
  for (const e of Deno.readDirSync("/proc/self/fd")) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(Deno.readLinkSync(`/proc/self/fd/${e.name}`));
      if (m && inodes.has(m[1]!)) n++;
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
    const before = openSockets(server.port);
    const n = 20;
    const clients: Connection[] = [];
    for (let i = 0; i < n; i++) {
      clients.push(await connect({ host: "127.0.0.1", port: server.port }));
    }
    while (accepted.length < n) await new Promise((r) => setTimeout(r, 5));
    // Each client holds one descriptor in this same process.
    assert.equal(openSockets(server.port) - before, n * (1 + DESCRIPTORS_PER_CONNECTION));
    for (const c of clients) c.destroy();
    await Promise.all(accepted.map((c) => c.closed));
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(openSockets(server.port), before);
  },
});
