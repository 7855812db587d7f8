import assert from "node:assert/strict";
import { bindDatagram, type DatagramBackend, defaultDatagramBackend } from "./datagram.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

for (const backend of ["deno", "node"] as DatagramBackend[]) {
  Deno.test(`bindDatagram(${backend}) delivers datagrams both ways, each whole and kept intact`, async () => {
    await using server = await bindDatagram({
      hostname: "127.0.0.1",
      backend,
      onMessage: (m, from) => server.send(enc.encode(`echo ${dec.decode(m)}`), from),
    });
    assert.equal(server.backend, backend);
    const got: Uint8Array[] = [];
    let arrived!: () => void;
    const all = new Promise<void>((r) => arrived = r);
    await using client = await bindDatagram({
      hostname: "127.0.0.1",
      backend,
      onMessage: (m) => {
        got.push(m);
        if (got.length === 3) arrived();
      },
    });
    for (const text of ["one", "two", "x".repeat(60_000)]) {
      client.send(enc.encode(text), { hostname: "127.0.0.1", port: server.port });
    }
    await all;
    // Each message is its own copy: the first is not overwritten by later ones.
    assert.deepEqual(
      got.map((m) => dec.decode(m)).sort(),
      ["echo one", "echo two", `echo ${"x".repeat(60_000)}`].sort(),
    );
    await client.close();
    client.send(enc.encode("after close"), { hostname: "127.0.0.1", port: server.port });
  });

  Deno.test(`bindDatagram(${backend}) on a port in use names the address and what to do`, async () => {
    await using first = await bindDatagram({ hostname: "127.0.0.1", onMessage: () => {} });
    await assert.rejects(
      bindDatagram({ hostname: "127.0.0.1", port: first.port, backend, onMessage: () => {} }),
      new RegExp(
        `^Error: Cannot listen on UDP 127\\.0\\.0\\.1:${first.port}: address already in use .*pick another --port\\)$`,
      ),
    );
  });
}

Deno.test("the default datagram backend is Deno.listenDatagram (deno.json turns on unstable net)", () => {
  assert.equal(defaultDatagramBackend(), "deno");
});
