import assert from "node:assert/strict";
import { LineTable } from "./line_table.ts";
import { containsLine } from "./line_search.ts";

const enc = new TextEncoder();
const b = (s: string) => enc.encode(s);

Deno.test("LineTable.has() agrees with containsLine() on lines, partials and endings", () => {
  const text = "first\r\nsecond line\n  padded  \n\nfirst\ncafé\nlast";
  const table = LineTable.build(b(text));
  assert.equal(table.size, 5);
  for (
    const q of [
      "first",
      "second line",
      "  padded  ",
      "café",
      "last",
      "",
      "padded",
      "las",
      "firstx",
      "cafe",
    ]
  ) {
    assert.equal(table.has(b(q)), containsLine(b(text), b(q)), JSON.stringify(q));
  }
});

Deno.test("LineTable survives a transfer of its arrays to another owner", () => {
  const lines = Array.from({ length: 5000 }, (_, i) => `line-${i}`);
  const table = LineTable.build(b(lines.join("\n") + "\n"));
  const copy = new LineTable(
    structuredClone(table.data, { transfer: LineTable.transferList(table.data) }),
  );
  assert.equal(copy.size, 5000);
  assert.equal(copy.has(b("line-4999")), true);
  assert.equal(copy.has(b("line-5000")), false);
});

Deno.test("LineTable.build() of an empty buffer holds nothing", () => {
  const table = LineTable.build(new Uint8Array(0));
  assert.equal(table.size, 0);
  assert.equal(table.has(b("x")), false);
});
