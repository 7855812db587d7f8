import assert from "node:assert/strict";
import * as v8 from "node:v8";
import * as vm from "node:vm";
import { reverseLine } from "./reverse.ts";

Deno.test("reverseLine() reverses by grapheme cluster after trimming trailing whitespace", async (t) => {
  const cases: Array<[string, string, string]> = [
    ["ascii word", "hello", "olleh"],
    ["trailing spaces and tab removed", "abc  \t", "cba"],
    ["leading spaces kept", "  ab", "ba  "],
    ["empty line", "", ""],
    ["only whitespace", "   ", ""],
    ["combining acute accent stays on its letter", "cafe\u0301!", "!e\u0301fac"],
    ["stacked combining marks", "a\u0323\u0302b", "ba\u0323\u0302"],
    [
      "emoji ZWJ family",
      "x\u{1F468}\u200D\u{1F469}\u200D\u{1F467}y",
      "y\u{1F468}\u200D\u{1F469}\u200D\u{1F467}x",
    ],
    [
      "flags (regional indicator pairs)",
      "\u{1F1EB}\u{1F1F7}\u{1F1E9}\u{1F1EA}",
      "\u{1F1E9}\u{1F1EA}\u{1F1EB}\u{1F1F7}",
    ],
    ["skin tone modifier", "\u{1F44D}\u{1F3FD}ok", "ko\u{1F44D}\u{1F3FD}"],
    ["CRLF inside the text is one cluster", "a\r\nb", "b\r\na"],
    ["Hangul jamo sequence", "\u1100\u1161\u11A8z", "z\u1100\u1161\u11A8"],
    ["replacement characters from invalid UTF-8", "a\uFFFDb", "b\uFFFDa"],
  ];
  for (const [name, input, want] of cases) {
    await t.step(name, () => assert.equal(reverseLine(input), want));
  }
});

Deno.test("reverseLine() twice restores a trimmed line", () => {
  const s = "héllo wörld 👩‍💻 🇯🇵";
  assert.equal(reverseLine(reverseLine(s)), s);
});

Deno.test("reverseLine() gives an ASCII line's reply as a flat string: 1,000 replies of 4,000 characters held take about a byte per character", () => {
  v8.setFlagsFromString("--expose-gc");
  const gc = vm.runInNewContext("gc") as () => void;
  const line = Array.from({ length: 4000 }, (_, i) => String.fromCharCode(97 + (i % 26))).join("");
  gc();
  const before = Deno.memoryUsage().heapUsed;
  const held = Array.from({ length: 1000 }, (_, i) => reverseLine(line.slice(0, 3999) + (i % 10)));
  gc();
  const perChar = (Deno.memoryUsage().heapUsed - before) / (1000 * 4000);
  // before: about 32 bytes a character (a rope of one-character pieces), 128 MB for these
  assert.ok(perChar < 2, `${perChar.toFixed(1)} bytes of heap a character`);
  assert.equal(held[7]![0], "7");
  assert.equal(held[7]!.slice(1), line.slice(0, 3999).split("").reverse().join(""));
});
