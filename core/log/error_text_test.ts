import assert from "node:assert/strict";
import { errorText } from "./error_text.ts";

Deno.test("errorText() gives an Error's message, or its name and message when named", () => {
  assert.equal(errorText(new TypeError("bad row")), "bad row");
  assert.equal(errorText(new TypeError("bad row"), true), "TypeError: bad row");
  assert.equal(errorText(42), "42");
});

Deno.test("errorText() describes a thrown value String() cannot convert, where it threw", () => {
  assert.throws(() => String(Object.create(null)));
  assert.equal(errorText(Object.create(null)), "a thrown value with no string form (object)");
  const liar = {
    toString() {
      throw new Error("no");
    },
  };
  assert.equal(errorText(liar), "a thrown value with no string form (object)");
  // An Error whose message getter throws.
  const odd = new Error("x");
  Object.defineProperty(odd, "message", {
    get() {
      throw new Error("no");
    },
  });
  assert.equal(errorText(odd, true), "a thrown value with no string form (object)");
});
