import assert from "node:assert/strict";
import { containsLine, indexOfBytes } from "./line_search.ts";

const enc = new TextEncoder();
const b = (s: string) => enc.encode(s);

Deno.test("indexOfBytes() finds needles like String.prototype.indexOf", () => {
  const hay = "abracadabra\nxyz\nabcabcabd\n";
  for (
    const needle of [
      "a",
      "ab",
      "abra",
      "cad",
      "\nxyz",
      "abd\n",
      "abcabd",
      "zz",
      "",
      "abracadabra\nxyz\nabcabcabd\n!",
    ]
  ) {
    assert.equal(indexOfBytes(b(hay), b(needle)), hay.indexOf(needle), needle);
  }
  assert.equal(indexOfBytes(b(hay), b("a"), 1), hay.indexOf("a", 1));
});

Deno.test("containsLine() matches whole lines byte for byte", async (t) => {
  const file = b("first\nsecond line\n  padded  \nlast");
  const cases: Array<[string, boolean]> = [
    ["first", true],
    ["second line", true],
    ["  padded  ", true],
    ["last", true],
    ["padded", false],
    ["second", false],
    ["line", false],
    ["firs", false],
    ["irst", false],
    ["", false],
    ["first\nsecond line", true], // not reachable from the wire (queries end at \n), still consistent
  ];
  for (const [q, want] of cases) {
    await t.step(JSON.stringify(q), () => assert.equal(containsLine(file, b(q)), want));
  }
});

Deno.test("containsLine() accepts \\r\\n line endings and a final line without newline", () => {
  const file = b("alpha\r\nbeta\r\ngamma\r");
  assert.equal(containsLine(file, b("alpha")), true);
  assert.equal(containsLine(file, b("beta")), true);
  assert.equal(containsLine(file, b("gamma")), true);
  assert.equal(containsLine(b("x\r\ry\n"), b("x")), false);
});

Deno.test("containsLine() compares raw bytes, not decoded text", () => {
  const file = new Uint8Array([
    0x63,
    0x61,
    0x66,
    0xc3,
    0xa9,
    0x0a,
    0xff,
    0xfe,
    0x0a,
    0x61,
    0x00,
    0x62,
  ]);
  assert.equal(containsLine(file, b("café")), true);
  assert.equal(containsLine(file, new Uint8Array([0xff, 0xfe])), true);
  assert.equal(containsLine(file, new Uint8Array([0xff])), false);
  assert.equal(containsLine(file, new Uint8Array([0x61, 0x00, 0x62])), true);
  assert.equal(containsLine(file, b("cafe")), false);
});

Deno.test("containsLine() skips partial hits and keeps searching", () => {
  const file = b("abc\nabcd\nxabc\nab\n");
  assert.equal(containsLine(file, b("ab")), true);
  assert.equal(containsLine(b("abcd\nabc"), b("abc")), true);
  assert.equal(containsLine(b("abcd\nxabc\n"), b("abc")), false);
});

Deno.test("indexOfBytes() agrees with a naive search on random small-alphabet text", () => {
  let seed = 7;
  const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  const alphabet = "01;\n";
  const text = Array.from({ length: 5000 }, () => alphabet[Math.floor(rand() * 4)]).join("");
  const bytes = b(text);
  for (let k = 0; k < 300; k++) {
    const len = 1 + Math.floor(rand() * 9);
    const needle = Array.from({ length: len }, () => alphabet[Math.floor(rand() * 4)]).join("");
    const from = Math.floor(rand() * 100);
    assert.equal(
      indexOfBytes(bytes, b(needle), from),
      text.indexOf(needle, from),
      JSON.stringify(needle),
    );
  }
});
