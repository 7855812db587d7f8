import assert from "node:assert/strict";
import { fileNameOf } from "./_file_names.ts";

Deno.test("fileNameOf() never names the directory itself or its parent, and holds no slash", () => {
  assert.equal(fileNameOf("."), "%2E");
  assert.equal(fileNameOf(".."), "%2E%2E");
  assert.equal(fileNameOf("../x"), "..%2Fx");
  assert.equal(fileNameOf("alice.example"), "alice.example"); // journals of dotted names keep their directory
  assert.equal(fileNameOf("chat.v1", { dots: true }), "chat%2Ev1");
  assert.equal(fileNameOf("x.handed", { dots: true }), "x%2Ehanded");
  for (const name of [".", "..", "a/b", "x.handed", "é", "%2E"]) {
    assert.equal(decodeURIComponent(fileNameOf(name)), name);
    assert.equal(decodeURIComponent(fileNameOf(name, { dots: true })), name);
  }
});
