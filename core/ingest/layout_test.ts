import assert from "node:assert/strict";
import { encodeKv, encodeStream, kvCommands, streamCommand } from "./layout.ts";
import { encodeCommand } from "./resp.ts";
import { RespBuffer } from "./resp_buffer.ts";

const text = (b: RespBuffer) => new TextDecoder().decode(b.bytes());

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
      ["utf-8", { "clé": { "é": "ü" }, k: "ß", big: 1234567890 }, false],
    ] as const
  ) {
    await t.step(name, () => {
      const out = new RespBuffer(8);
      const n = encodeKv(obj, "p:", ascii, false, out);
      const cmds = kvCommands(obj, "p:");
      assert.equal(n, cmds.length);
      assert.equal(text(out), cmds.map((c) => encodeCommand(c)).join(""));
    });
  }
});

Deno.test("encodeKv() wraps an object with several commands in MULTI/EXEC when asked", () => {
  const out = new RespBuffer();
  assert.equal(encodeKv({ one: 1 }, "", true, true, out), 1);
  assert.equal(encodeKv({ a: 1, b: { c: 2 } }, "", true, true, out), 2);
  assert.equal(encodeKv({ e: {} }, "", true, true, out), 0);
  assert.equal(
    text(out),
    encodeCommand(["SET", "one", "1"]) + encodeCommand(["MULTI"]) +
      encodeCommand(["SET", "a", "1"]) + encodeCommand(["HSET", "b", "c", "2"]) +
      encodeCommand(["EXEC"]),
  );
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
  const out = new RespBuffer();
  encodeStream("{}", "alice", "s", 10, out);
  assert.equal(text(out), encodeCommand(streamCommand("{}", "alice", "s", 10)));
});
