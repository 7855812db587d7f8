import assert from "node:assert/strict";
import { listen } from "./mod.ts";
import { createLogger } from "../log/mod.ts";

Deno.test("a listener whose authorize throws closes that connection, logs it, and goes on accepting", async () => {
  const lines: string[] = [];
  const logger = createLogger({ sink: (l) => lines.push(l) });
  let calls = 0;
  let handled = 0;
  await using server = await listen({
    host: "127.0.0.1",
    port: 0,
    logger,
    authorize: () => {
      if (calls++ === 0) throw new Error("authorize bug");
      return undefined;
    },
  }, (conn) => {
    handled++;
    conn.close();
    return conn.closed;
  });
  for (let i = 0; i < 3; i++) {
    const c = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
    // the server closes each connection: the refused one at once, the others from the handler
    assert.equal(await c.read(new Uint8Array(1)), null);
    c.close();
  }
  assert.equal(calls, 3);
  assert.equal(handled, 2);
  const errors = lines.filter((l) => / ERROR /.test(l));
  assert.equal(errors.length, 1, lines.join("\n"));
  assert.match(errors[0]!, /cannot set up an accepted connection: it was closed .*authorize bug/);
});
