import assert from "node:assert/strict";
import { connect, type Connection, listen } from "./mod.ts";
import { delay } from "../async/mod.ts";

Deno.test("bytesTaken counts what the network took, not what waits for a peer that does not read", async () => {
  let served: Connection | undefined;
  await using server = await listen({ host: "127.0.0.1", port: 0 }, (conn) => {
    served = conn;
  });
  const client = await connect({ host: "127.0.0.1", port: server.port });
  client.pause(); // the peer reads nothing
  try {
    while (served === undefined) await delay(5);
    const chunk = new Uint8Array(1 << 20);
    for (let i = 0; i < 16; i++) served.send(chunk);
    await delay(200);
    // bytesWritten already counts all of it: no measure of the peer's reading.
    assert.ok(served.bytesWritten > 8 << 20, `written ${served.bytesWritten}`);
    assert.ok(
      served.bytesTaken < 8 << 20,
      `taken ${served.bytesTaken} of ${16 << 20} bytes written to a peer that reads nothing`,
    );
  } finally {
    client.destroy();
    served?.destroy();
  }
});
