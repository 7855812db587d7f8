import assert from "node:assert/strict";
import { memoryPair } from "../net/memory_pair.ts";
import { runClient } from "./client.ts";

/** A server that answers the first line reversed, then closes. */
function oneReplyServer() {
  const [client, server] = memoryPair();
  let buf = "";
  server.receive({
    data: (chunk) => {
      buf += new TextDecoder().decode(chunk);
      const nl = buf.indexOf("\n");
      if (nl < 0) return;
      server.send([...buf.slice(0, nl)].reverse().join("") + "\n");
      void server.end(undefined, 100);
    },
  });
  return client;
}

/** Input lines, each after a pause of `ms` (a pipe whose writer is slow, or whose EOF comes late). */
async function* slowly(lines: string[], ms: number) {
  for (const line of lines) {
    yield line;
    await new Promise((r) => setTimeout(r, ms));
  }
}

Deno.test("runClient counts a server that closes after the last reply as done when the input's EOF comes just after", async () => {
  const events: string[] = [];
  const outcome = await runClient(oneReplyServer(), {
    input: slowly(["abc"], 200),
    onEvent: (e) => events.push(`${e.kind} ${e.text}`),
  });
  assert.deepEqual(outcome, { kind: "done" });
  assert.deepEqual(events, ["reply cba"]);
});

Deno.test("runClient reports a lost session when a line follows the server's close", async () => {
  const outcome = await runClient(oneReplyServer(), {
    input: slowly(["abc", "def"], 200),
    onEvent: () => {},
  });
  assert.equal(outcome.kind, "lost");
});
