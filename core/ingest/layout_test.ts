import assert from "node:assert/strict";
import {
  encodeKv,
  encodeKvMembers,
  encodeStream,
  kvCommands,
  splitMembers,
  streamCommand,
} from "./layout.ts";
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

Deno.test("splitMembers() gives the keys and values JSON.parse gives, and the same RESP", () => {
  for (
    const t of [
      JSON.stringify(SAMPLE),
      '{"bench:c3:5":{"name":"user-5","age":5,"score":0.625,"tags":["red","blue"],"geo":{"lat":51.5,"lon":-0.12}}}',
      '{ "a" : 1 ,\n "b":\t"x\\"}y" , "c":[{"d":"]"}], "e":{}, "f":null, "g":-1.5e3, "h":true, "__proto__":{"p":1} }',
      '{"k":"\\u00e9","cl":{"e":"\\u00fc"}}',
    ]
  ) {
    const m = splitMembers(t, new TextEncoder().encode(t));
    assert.ok(m, t);
    const obj = JSON.parse(t);
    assert.deepEqual(m.keys, Object.keys(obj), t);
    assert.deepEqual(m.values, Object.values(obj), t);
    const a = new RespBuffer(8);
    const b = new RespBuffer(8);
    assert.equal(encodeKvMembers(m, "p:", false, true, a), encodeKv(obj, "p:", false, true, b));
    assert.equal(text(a), text(b));
  }
});

Deno.test("splitMembers() leaves escaped, numeric or repeated keys and bad JSON to JSON.parse", () => {
  for (
    const t of [
      "{}",
      '{"a\\"b":1}',
      '{"b":1,"2":2}',
      '{"a":{"x":1},"a":{"y":2}}',
      '{"a":1,}',
      '{"a":1 "b":2}',
      '{"a":[1}',
      '{"a":tru}',
      '{"a":1]',
      '{"a":"x}',
      '{"a"1}',
      "{a:1}",
      '{"a":}',
      '{"clé":1}',
    ]
  ) {
    assert.equal(splitMembers(t, new TextEncoder().encode(t)), undefined, t);
  }
});
