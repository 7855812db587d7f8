import assert from "node:assert/strict";
import { encodeKvMembers, encodeStream, kvCommands, streamCommand } from "./_layout_encode.ts";
import { splitMembers } from "./_kv_members.ts";
import { encodeCommand } from "./_resp.ts";
import { RespBuffer } from "./_resp_buffer.ts";

const text = (b: RespBuffer) => new TextDecoder().decode(b.bytes());

const SAMPLE = JSON.stringify({
  s: "x",
  n: 1.5,
  b: true,
  z: null,
  a: [1, "2"],
  h: { f: "v", g: 2, d: { x: 1 } },
  e: {},
});

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

Deno.test("kvCommands() stores numbers and other non-string values as their JSON text as sent", () => {
  assert.deepEqual(
    kvCommands(
      '{"big":18446744073709551616,"f":1.0,"e":1e+20,"E":1E20,"m":-0.0,"h":{"x":-0.0,"y":2.50,"z":[1.0, 2]},"a":[ 1.0 ]}',
      "",
    ),
    [
      ["SET", "big", "18446744073709551616"],
      ["SET", "f", "1.0"],
      ["SET", "e", "1e+20"],
      ["SET", "E", "1E20"],
      ["SET", "m", "-0.0"],
      ["HSET", "h", "x", "-0.0", "y", "2.50", "z", "[1.0, 2]"],
      ["SET", "a", "[ 1.0 ]"],
    ],
  );
});

Deno.test("encodeKvMembers() writes the same commands as kvCommands() in RESP", async (t) => {
  for (
    const [name, json, ascii] of [
      ["ascii", SAMPLE, true],
      ["utf-8", '{"clé":{"é":"ü","n":1.0},"k":"ß","big":1234567890}', false],
      ["escapes", '{"k":"\\u00e9\\"","cl":{"e\\n":"\\u00fc"},"2":1,"a\\"b":2}', false],
    ] as const
  ) {
    await t.step(name, () => {
      const bytes = new TextEncoder().encode(json);
      const m = splitMembers(json, bytes);
      assert.ok(m);
      const out = new RespBuffer(8);
      const n = encodeKvMembers(m, out, { prefix: "p:", ascii });
      const cmds = kvCommands(json, "p:")!;
      assert.equal(n, cmds.length);
      assert.equal(text(out), cmds.map((c) => encodeCommand(c)).join(""));
    });
  }
});

Deno.test("encodeKvMembers() wraps an object with several commands in MULTI/EXEC when asked", () => {
  const out = new RespBuffer();
  const enc = (json: string) =>
    encodeKvMembers(splitMembers(json, new TextEncoder().encode(json))!, out, {
      ascii: true,
      wrap: true,
    });
  assert.equal(enc('{"one":1}'), 1);
  assert.equal(enc('{"a":1,"b":{"c":2}}'), 2);
  assert.equal(enc('{"e":{}}'), 0);
  assert.equal(
    text(out),
    encodeCommand(["SET", "one", "1"]) + encodeCommand(["MULTI"]) +
      encodeCommand(["SET", "a", "1"]) + encodeCommand(["HSET", "b", "c", "2"]) +
      encodeCommand(["EXEC"]),
  );
});

Deno.test("streamCommand() adds MAXLEN ~ only when asked", () => {
  assert.deepEqual(streamCommand("{}", { key: "s", client: "alice" }), [
    "XADD",
    "s",
    "*",
    "client",
    "alice",
    "data",
    "{}",
  ]);
  const trimmed = { key: "s", client: "alice", maxlen: 10 };
  assert.deepEqual(streamCommand("{}", trimmed).slice(2, 5), ["MAXLEN", "~", "10"]);
  const out = new RespBuffer();
  encodeStream("{}", out, trimmed);
  assert.equal(text(out), encodeCommand(streamCommand("{}", trimmed)));
});
