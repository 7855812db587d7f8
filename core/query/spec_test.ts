import assert from "node:assert/strict";
import { ConfigError } from "../config/mod.ts";
import { parseDataSpec } from "./spec.ts";

Deno.test("parseDataSpec() fills in formats, names and header defaults", () => {
  const spec = parseDataSpec({
    files: [
      { path: "people.csv", key: "id" },
      { path: "data/cities.csv", keyIndex: 0 },
      { path: "settings.json" },
      { path: "odd.bin", reader: "read.ts", name: "odd" },
    ],
  }, "/base");
  assert.deepEqual(spec.files.map((f) => [f.name, f.format, f.header, f.path]), [
    ["people", "csv", true, "/base/people.csv"],
    ["cities", "csv", false, "/base/data/cities.csv"],
    ["settings", "json", true, "/base/settings.json"],
    ["odd", "module", true, "/base/odd.bin"],
  ]);
  assert.equal(spec.files[3]!.reader, "/base/read.ts");
});

Deno.test("parseDataSpec() explains what is wrong with an entry", async (t) => {
  const cases: Array<[unknown, RegExp]> = [
    [[], /expected an object with a "files" list/],
    [{ files: [] }, /non-empty "files" list/],
    [{ files: [{ key: "id" }] }, /files\[0\]: "path" is required/],
    [{ files: [{ path: "a.txt" }] }, /cannot tell the format of "a.txt"/],
    [{ files: [{ path: "a.csv", key: "id", keyIndex: 0 }] }, /not both/],
    [{ files: [{ path: "a.csv", keyIndex: -1 }] }, /keyIndex: expected a column index/],
    [{ files: [{ path: "a.csv", key: "id", header: false }] }, /needs a header row/],
    [{ files: [{ path: "a.csv", colour: 1 }] }, /unknown field "colour"/],
    [{ files: [{ path: "a.csv" }, { path: "x/a.csv" }] }, /name "a" is used twice/],
    [{ files: [{ path: "a.json", format: "module" }] }, /needs a "reader" module/],
  ];
  for (const [value, re] of cases) {
    await t.step(String(re), () => {
      assert.throws(() => parseDataSpec(value, "/base", "spec.json"), (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.match(err.message, /^Invalid data spec "spec.json": /);
        assert.match(err.message, re);
        return true;
      });
    });
  }
});
