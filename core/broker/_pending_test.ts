import assert from "node:assert/strict";
import { PendingReplies } from "./_pending.ts";

const EMPTY = new Uint8Array(0);
const noop = { resolve: () => {}, reject: () => {} };

Deno.test("PendingReplies refuses one request past its cap, before it is sent; an answer or a timeout frees a place", async () => {
  const p = new PendingReplies(2);
  p.expect("a", "bob", "t", 0, noop);
  p.expect("b", "bob", "t", 30, noop);
  assert.throws(
    () => p.expect("c", "bob", "t", 0, noop),
    /Too many requests waiting for an answer: 2 already wait on this connector/,
  );
  assert.equal(p.size, 2, "the refused one is not registered");
  p.expect("a", "bob", "t", 0, noop); // the same id again replaces its wait, within the cap
  assert.equal(
    p.answer(
      "a",
      "bob",
      { kind: "msg", type: "t", id: "r", src: "bob", dst: "me" },
      EMPTY,
      EMPTY,
      EMPTY,
    ),
    true,
  );
  p.expect("c", "bob", "t", 0, noop);
  await new Promise((r) => setTimeout(r, 60)); // "b" times out
  p.expect("d", "bob", "t", 0, noop);
  assert.equal(p.size, 2);
  p.rejectAll(() => new Error("closing"));
});
