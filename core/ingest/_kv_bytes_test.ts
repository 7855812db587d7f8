import assert from "node:assert/strict";
import { encodeKvBytes, NOT_FAST } from "./_kv_bytes.ts";
import { encodeKvMembers, kvCommands } from "./_layout_encode.ts";
import { splitMembers } from "./_kv_members.ts";
import { encodeCommand } from "./_resp.ts";
import { RespBuffer } from "./_resp_buffer.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** The general path's RESP for `json`, or undefined when it refuses it. */
function general(json: string, prefix: string, wrap: boolean): string | undefined {
  const bytes = enc.encode(json);
  const m = splitMembers(json, bytes);
  if (m === undefined) return undefined;
  const out = new RespBuffer(8);
  encodeKvMembers(m, out, {
    prefix,
    ascii: json.length === bytes.length && !json.includes("\\u"),
    wrap,
  });
  return dec.decode(out.bytes());
}

/** The fast path's RESP for `json`, or undefined when it does not apply (and then it wrote nothing). */
function fast(json: string, prefix: string, wrap: boolean): string | undefined {
  const out = new RespBuffer(8);
  const n = encodeKvBytes(enc.encode(json), out, { prefix: enc.encode(prefix), wrap });
  if (n === NOT_FAST) {
    assert.equal(out.length, 0, `wrote bytes before giving up on ${json}`);
    return undefined;
  }
  return dec.decode(out.bytes());
}

const PLAIN = [
  '{"k":"v"}',
  '{"u1":{"name":"user-1","age":42,"score":0.125,"tags":["red","blue"],"geo":{"lat":51.5,"lon":-0.12}}}',
  '{"s":"x","n":1.5,"b":true,"f":false,"z":null,"a":[1,"2",[],{}],"h":{"f":"v","g":2,"d":{"x":1}},"e":{}}',
  '{"big":18446744073709551616,"f":1.0,"e":1e+20,"E":1E-2,"m":-0.0,"h":{"x":-0.0,"z":[1.0, 2]}} ',
  '{ "a" : 1 ,\n\t"b" : { "c" : "d" } }\r\n',
  '{"a":1,"b":2,"a":3}',
  '{"a":{"x":1},"a":{}}',
  '{"h":{"f":1,"f":2}}',
  '{"a":["q\\"uote\\\\ \\/ \\b\\f\\n\\r\\t \\u00e9"],"o":{"k":{"n\\u0041":[[[]]]}}}',
  "{}",
  '{"e":{}}',
  '{"":""}',
];

Deno.test("encodeKvBytes() writes exactly what the general path writes for plain ASCII objects", async (t) => {
  for (const json of PLAIN) {
    await t.step(json.trim().slice(0, 40), () => {
      for (const [prefix, wrap] of [["", false], ["p:", true]] as const) {
        const want = general(json, prefix, wrap);
        assert.ok(want !== undefined, `the general path refuses ${json}`);
        assert.equal(fast(json, prefix, wrap), want);
      }
      // A non-ASCII prefix: the commands kvCommands() gives, in RESP.
      const cmds = kvCommands(json, "é:")!;
      assert.equal(fast(json, "é:", false), cmds.map((c) => encodeCommand(c)).join(""));
    });
  }
});

Deno.test("encodeKvBytes() leaves escapes, non-ASCII and malformed input to the general path", () => {
  for (
    const json of [
      '{"k\\n":"v"}',
      '{"k":"v\\""}',
      '{"h":{"f":"\\u00e9"}}',
      '{"clé":"v"}',
      '{"k":"ü"}',
      '{"k":["ü"]}',
      '{"k":"v",}',
      '{"k":[1,]}',
      '{"k":01}',
      '{"k":1.}',
      '{"k":tru}',
      '{"k":"a\tb"}',
      '{"k":["a\\x"]}',
      '{"k":{"a":1}',
      '{"k":1} x',
      '["k"]',
      '{"k":' + "[".repeat(70) + "]".repeat(70) + "}",
    ]
  ) assert.equal(fast(json, "", false), undefined, json);
});

Deno.test("encodeKvBytes() agrees with the general path on thousands of damaged objects", () => {
  // A fixed seed: the same cases every run.
  let seed = 12345;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const alphabet = '{}[]":,\\ 0123456789.-+eEtrufalsnx\n';
  let fastCount = 0;
  for (let i = 0; i < 20_000; i++) {
    let json = PLAIN[rand(PLAIN.length)]!;
    for (let k = 0, edits = 1 + rand(3); k < edits; k++) {
      const at = rand(json.length + 1);
      const c = alphabet[rand(alphabet.length)]!;
      const op = rand(3);
      json = op === 0
        ? json.slice(0, at) + json.slice(at + 1)
        : op === 1
        ? json.slice(0, at) + c + json.slice(at)
        : json.slice(0, at) + c + json.slice(at + 1);
    }
    const got = fast(json, "p:", true);
    const want = general(json, "p:", true);
    if (got !== undefined) {
      fastCount++;
      assert.equal(got, want, `fast path differs on ${JSON.stringify(json)}`);
    } else if (want !== undefined && !json.includes("\\")) {
      // Without escapes, whatever the general path accepts the fast path takes too.
      assert.fail(`fast path refused what the general path accepts: ${JSON.stringify(json)}`);
    }
  }
  assert.ok(fastCount > 1000, `only ${fastCount} damaged objects were still valid`);
});

/** An object of `n` keys `k0`... (value: the key's number), with `repeats` given again at the end (value: -1). */
function wide(n: number, repeats: number[]): string {
  const members = Array.from({ length: n }, (_, i) => `"k${i}":${i}`);
  for (const r of repeats) members.push(`"k${r}":-1`);
  return `{${members.join(",")}}`;
}

Deno.test("encodeKvBytes() and the general path keep a repeated key's last value in wide objects, as JSON.parse does, in time that grows with the size", () => {
  // Across the switch from comparing each key to looking it up, and in objects of 100,000 keys
  // (where the comparison with every earlier key took about 20 s: 130,000 took 33 s).
  for (
    const [n, repeats] of [[15, [0, 14]], [16, [3]], [17, [0, 16]], [40, [0, 17, 39, 17]], [
      100_000,
      [0, 65_535, 99_999],
    ]] as const
  ) {
    const json = wide(n, [...repeats]);
    const want = JSON.parse(json) as Record<string, number>;
    const got = fast(json, "", false)!;
    assert.equal(got, general(json, "", false));
    // one SET per key, the repeated ones with -1
    assert.equal(got.split("*3\r\n$3\r\nSET\r\n").length - 1, Object.keys(want).length);
    for (const r of repeats) assert.ok(got.includes(`\r\nk${r}\r\n$2\r\n-1\r\n`), `k${r} is -1`);
    assert.ok(
      !got.includes(`\r\nk${repeats[0]}\r\n$${String(repeats[0]).length}\r\n${repeats[0]}\r\n`),
    );
    // the general path (a non-ASCII value makes it the only one) gives the same keys
    const m = splitMembers(
      json.replace(/}$/, ',"x":"é"}'),
      enc.encode(json.replace(/}$/, ',"x":"é"}')),
    )!;
    assert.equal(m.keys.length, Object.keys(want).length + 1);
    assert.deepEqual(new Set(m.keys), new Set([...Object.keys(want), "x"]));
    for (const r of repeats) assert.equal(m.values[m.keys.indexOf(`k${r}`)], "-1");
  }
});
