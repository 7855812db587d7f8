import assert from "node:assert/strict";
import { type Command, kvCommands, streamCommand } from "./layout.ts";

Deno.test("kvCommands() maps each top-level value type as the replaced daemon did", () => {
  const out: Command[] = [];
  const n = kvCommands(
    { s: "x", n: 1.5, b: true, z: null, a: [1, "2"], h: { f: "v", g: 2, d: { x: 1 } }, e: {} },
    "p:",
    out,
  );
  assert.equal(n, 6);
  assert.deepEqual(out, [
    ["SET", "p:s", "x"],
    ["SET", "p:n", "1.5"],
    ["SET", "p:b", "true"],
    ["SET", "p:z", "null"],
    ["SET", "p:a", '[1,"2"]'],
    ["HSET", "p:h", "f", "v", "g", "2", "d", '{"x":1}'],
  ]);
});

Deno.test("streamCommand() adds MAXLEN ~ only when asked", () => {
  assert.deepEqual(streamCommand("{}", "alice", "s", undefined), [
    "XADD",
    "s",
    "*",
    "client",
    "alice",
    "data",
    "{}",
  ]);
  assert.deepEqual(streamCommand("{}", "alice", "s", 10).slice(2, 5), ["MAXLEN", "~", "10"]);
});
