import assert from "node:assert/strict";
import { cleanQuery, errorReply, parseReply } from "./protocol.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

Deno.test("cleanQuery() strips trailing NUL and CR bytes only", async (t) => {
  const cases: Array<[string, string]> = [
    ["abc", "abc"],
    ["abc\x00\x00\x00", "abc"],
    ["abc\r", "abc"],
    ["abc\r\x00\r", "abc"],
    ["\x00abc", "\x00abc"],
    [" abc ", " abc "],
    ["a\x00b", "a\x00b"],
    ["\x00\r", ""],
  ];
  for (const [raw, want] of cases) {
    await t.step(
      JSON.stringify(raw),
      () => assert.equal(dec.decode(cleanQuery(enc.encode(raw))), want),
    );
  }
});

Deno.test("parseReply() reads both answers and turns error lines into errors", () => {
  assert.equal(parseReply("STRING EXISTS"), true);
  assert.equal(parseReply("STRING NOT FOUND"), false);
  assert.throws(() => parseReply("ERROR: query too long"), /query too long/);
  assert.throws(() => parseReply("HELLO"), /Unexpected reply/);
  assert.equal(errorReply("a\nb"), "ERROR: a b\n");
});
