import assert from "node:assert/strict";
import { type Hash, splitMembers } from "./_kv_members.ts";

Deno.test("splitMembers() gives the keys JSON.parse gives, strings unescaped, a repeated key's last value", () => {
  for (
    const t of [
      '{"s":"x","n":1.5,"b":true,"z":null,"a":[1,"2"],"h":{"f":"v","g":2,"d":{"x":1}},"e":{}}',
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
