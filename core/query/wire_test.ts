import assert from "node:assert/strict";
import {
  decodeHeader,
  encodeHeader,
  errorOf,
  errorPayload,
  WireError,
  withoutLineEnd,
} from "./wire.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

Deno.test("decodeHeader() reads each supported header and encodeHeader() writes it back", () => {
  for (const h of ["0pt0", "0pj0", "0Et0", "0Ej0"]) {
    const header = decodeHeader(enc.encode(h + "payload"));
    assert.equal(dec.decode(encodeHeader(header)), h);
  }
});

Deno.test("decodeHeader() refuses malformed and unsupported headers, naming the byte", async (t) => {
  const cases: Array<[string, RegExp, string]> = [
    ["", /expected 4 header bytes .* got 0/, "t"],
    ["0pj", /expected 4 header bytes .* got 3/, "j"],
    ["xpt0", /protocol byte must be "0", got "x"/, "t"],
    ["0pt\x01", /version byte must be "0", got byte 0x01/, "t"],
    ["0pq0", /representation byte must be "t" or "j", got "q"/, "t"],
    ["0pp0", /Unsupported representation "p" \(pickle\)/, "t"],
    ["0Ht0", /Unsupported encryption scheme "H"/, "t"],
    ["0Hj0", /Unsupported encryption scheme "H"/, "j"],
    ["0zj0", /encryption byte must be "p" \(or "0"\) or "E", got "z"/, "j"],
  ];
  for (const [input, re, repr] of cases) {
    await t.step(JSON.stringify(input), () => {
      assert.throws(() => decodeHeader(enc.encode(input)), (err: unknown) => {
        assert.ok(err instanceof WireError);
        assert.match(err.message, re);
        assert.deepEqual(err.replyHeader, { encryption: "p", representation: repr });
        return true;
      });
    });
  }
});

Deno.test("errorPayload() and errorOf() agree for text and JSON, and ordinary replies are not errors", () => {
  assert.equal(dec.decode(errorPayload("t", "bad thing")), "ERROR: bad thing");
  assert.equal(dec.decode(errorPayload("j", 'bad "x"')), '{"error":"bad \\"x\\""}');
  assert.equal(errorOf("t", "ERROR: bad thing"), "bad thing");
  assert.equal(errorOf("j", '{"error":"bad"}'), "bad");
  assert.equal(errorOf("t", "fine"), undefined);
  assert.equal(errorOf("j", '{"error":"x","other":1}'), undefined);
  assert.equal(errorOf("j", "[1,2]"), undefined);
});

Deno.test("withoutLineEnd() removes one trailing \\n, \\r\\n or \\r and nothing else", () => {
  const cases: Array<[string, string]> = [
    ["0pt0a\n", "0pt0a"],
    ["0pt0a\r\n", "0pt0a"],
    ["0pt0a\r", "0pt0a"],
    ["0pt0a\n\n", "0pt0a\n"],
    ["0pt0 a b ", "0pt0 a b "],
    ["0pt0a\nb", "0pt0a\nb"],
    ["\n", ""],
    ["", ""],
  ];
  for (const [input, want] of cases) {
    assert.equal(dec.decode(withoutLineEnd(enc.encode(input))), want, JSON.stringify(input));
  }
});
