import assert from "node:assert/strict";
import {
  encodeKvMembers,
  encodeStream,
  type Hash,
  kvCommands,
  splitMembers,
  streamCommand,
} from "./layout.ts";
import { encodeCommand } from "./resp.ts";
import { RespBuffer } from "./resp_buffer.ts";

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

Deno.test("splitMembers() gives the keys JSON.parse gives, strings unescaped, a repeated key's last value", () => {
  for (
    const t of [
      SAMPLE,
      '{"bench:c3:5":{"name":"user-5","age":5,"score":0.625,"tags":["red","blue"],"geo":{"lat":51.5,"lon":-0.12}}}',
      '{ "a" : 1 ,\n "b":\t"x\\"}y" , "c":[{"d":"]"}], "e":{}, "f":null, "g":-1.5e3, "h":true, "__proto__":{"p":1} }',
      '{"k":"\\u00e9","cl":{"e":"\\u00fc"}}',
      '{"a":{"x":1},"b":2,"a":{"y":2}}',
      "{}",
    ]
  ) {
    const m = splitMembers(t, new TextEncoder().encode(t));
    assert.ok(m, t);
    const obj = JSON.parse(t);
    assert.deepEqual([...m.keys].sort(), Object.keys(obj).sort(), t);
    for (const [i, k] of m.keys.entries()) {
      const v: string | Hash = m.values[i]!;
      if (typeof v === "string") {
        assert.deepEqual(typeof obj[k] === "string" ? v : JSON.parse(v), obj[k], t);
      } else assert.deepEqual(v.fields, Object.keys(obj[k]), t);
    }
  }
});

Deno.test("splitMembers() refuses malformed JSON (the caller asks JSON.parse for the error)", () => {
  for (
    const t of [
      '{"a":1,}',
      '{"a":1 "b":2}',
      '{"a":[1}',
      '{"a":tru}',
      '{"a":1]',
      '{"a":"x}',
      '{"a"1}',
      "{a:1}",
      '{"a":}',
      '{"a":01}',
      '{"a":1.}',
      '{"a":-}',
      '{"a":1e}',
      '{"a":+1}',
      '{"a":{"b":1,}}',
      '{"a":"\u0001"}',
      '{"a":1}x',
      '{"a":[1,]}',
    ]
  ) {
    assert.equal(splitMembers(t, new TextEncoder().encode(t)), undefined, t);
  }
});
