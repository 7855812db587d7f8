import assert from "node:assert/strict";
import { printable } from "./printable.ts";

Deno.test("printable() leaves text, tabs and non-ASCII letters as they are", () => {
  assert.equal(printable("héllo\twörld 😀 ünïcode"), "héllo\twörld 😀 ünïcode");
});

Deno.test("printable() shows as escapes what would end the line, steer the terminal or reorder the text", () => {
  assert.equal(printable("hi\n* bob disconnected"), "hi\\n* bob disconnected");
  assert.equal(printable("a\rb"), "a\\rb");
  assert.equal(printable("\x1b[2K\x1b]0;title\x07"), "\\e[2K\\e]0;title\\x07");
  assert.equal(printable("\x00\x7f\x9b"), "\\x00\\x7f\\x9b");
  assert.equal(printable("abc\u202edef\u2066\u2028"), "abc\\u202edef\\u2066\\u2028");
});
