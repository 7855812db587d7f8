import assert from "node:assert/strict";
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
