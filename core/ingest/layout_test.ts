import assert from "node:assert/strict";
import { type EncodedObject, encodeKv, encodeStream, kvCommands, streamCommand } from "./layout.ts";
import { encodeCommand } from "./resp.ts";

const SAMPLE = {
  s: "x",
  n: 1.5,
  b: true,
  z: null,
  a: [1, "2"],
  h: { f: "v", g: 2, d: { x: 1 } },
  e: {},
};

Deno.test("kvCommands() maps each top-level value type as the replaced daemon did", () => {
  assert.deepEqual(kvCommands(SAMPLE, "p:"), [
    ["SET", "p:s", "x"],
    ["SET", "p:n", "1.5"],
    ["SET", "p:b", "true"],
    ["SET", "p:z", "null"],
    ["SET", "p:a", '[1,"2"]'],
    ["HSET", "p:h", "f", "v", "g", "2", "d", '{"x":1}'],
  ]);
});

Deno.test("encodeKv() writes the same commands as kvCommands() in RESP", async (t) => {
  for (
    const [name, obj, ascii] of [
      ["ascii", SAMPLE, true],
      ["utf-8", { "clé": { "é": "ü" }, k: "ß" }, false],
    ] as const
  ) {
    await t.step(name, () => {
      const out: EncodedObject = { wire: "", commands: 0 };
      encodeKv(obj, "p:", ascii, out);
      const cmds = kvCommands(obj, "p:");
      assert.equal(out.commands, cmds.length);
      assert.equal(out.wire, cmds.map((c) => encodeCommand(c)).join(""));
    });
  }
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
  const out: EncodedObject = { wire: "", commands: 0 };
  encodeStream("{}", "alice", "s", 10, out);
  assert.equal(out.wire, encodeCommand(streamCommand("{}", "alice", "s", 10)));
});
