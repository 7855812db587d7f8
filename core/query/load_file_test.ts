import assert from "node:assert/strict";
import { join } from "node:path";
import { loadDataFile as load } from "./load_file.ts";
import { parseDataSpec } from "./spec.ts";

async function withFiles(
  files: Record<string, string>,
  fn: (dir: string) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    for (const [name, text] of Object.entries(files)) {
      await Deno.writeTextFile(join(dir, name), text);
    }
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/**
 * `loadDataFile`, checking that a keyed file (an object of rows) is a
 * dictionary with no prototype; returns a plain copy of it to compare.
 */
async function loadDataFile(spec: Parameters<typeof load>[0]): Promise<unknown> {
  const data = await load(spec);
  if (typeof data !== "object" || data === null || Array.isArray(data)) return data;
  if (spec.key !== undefined || spec.keyIndex !== undefined) {
    assert.equal(Object.getPrototypeOf(data), null, "a keyed file has no prototype");
  }
  return { ...data };
}

const one = (entry: Record<string, unknown>, dir: string) =>
  parseDataSpec({ files: [entry] }, dir).files[0]!;

Deno.test("loadDataFile() keys CSV rows by column name, by index, or keeps a list", async () => {
  await withFiles({
    "p.csv": "id,name\n1,Ada\n2,Grace\n",
    "c.csv": "London,UK\nParis,FR\n",
    "y.csv": "name,2024\nAda,7\n",
  }, async (dir) => {
    assert.deepEqual(await loadDataFile(one({ path: "p.csv", key: "id" }, dir)), {
      "1": { id: "1", name: "Ada" },
      "2": { id: "2", name: "Grace" },
    });
    assert.deepEqual(await loadDataFile(one({ path: "c.csv", keyIndex: 1 }, dir)), {
      UK: ["London", "UK"],
      FR: ["Paris", "FR"],
    });
    assert.deepEqual(await loadDataFile(one({ path: "p.csv", keyIndex: 1, header: true }, dir)), {
      Ada: { id: "1", name: "Ada" },
      Grace: { id: "2", name: "Grace" },
    });
    // an index names the header's column even when a later column's name looks like a number
    assert.deepEqual(await loadDataFile(one({ path: "y.csv", keyIndex: 0, header: true }, dir)), {
      Ada: { name: "Ada", "2024": "7" },
    });
    assert.deepEqual(await loadDataFile(one({ path: "c.csv", header: false }, dir)), [
      ["London", "UK"],
      ["Paris", "FR"],
    ]);
  });
});

Deno.test("loadDataFile() applies a transform module, a reader module and JSON keys", async () => {
  await withFiles({
    "p.csv": "id,n\n1,5\n2,7\n",
    "t.js": "export default (row) => row.n === '7' ? undefined : { ...row, n: Number(row.n) };",
    "lines.txt": "a=1\nb=2\n",
    "r.js":
      "export default (text) => Object.fromEntries(text.trim().split('\\n').map((l) => l.split('=')));",
    "list.json": '[{"k":"x","v":1},{"k":"y","v":2}]',
  }, async (dir) => {
    assert.deepEqual(
      await loadDataFile(one({ path: "p.csv", key: "id", transform: "t.js" }, dir)),
      {
        "1": { id: "1", n: 5 },
      },
    );
    assert.deepEqual(await loadDataFile(one({ path: "lines.txt", reader: "r.js" }, dir)), {
      a: "1",
      b: "2",
    });
    assert.deepEqual(await loadDataFile(one({ path: "list.json", key: "k" }, dir)), {
      x: { k: "x", v: 1 },
      y: { k: "y", v: 2 },
    });
  });
});

Deno.test("loadDataFile() names the file and the problem for broken data", async () => {
  await withFiles({
    "bad.csv": 'id,name\n1,"open\n',
    "p.csv": "id,name\n1,Ada\n",
    "bad.json": "{nope",
  }, async (dir) => {
    await assert.rejects(
      () => loadDataFile(one({ path: "bad.csv", key: "id" }, dir)),
      /Cannot parse CSV ".*bad.csv": .*at line 2/,
    );
    await assert.rejects(
      () => loadDataFile(one({ path: "p.csv", key: "nope" }, dir)),
      /by column "nope": no such column \(columns: id, name\)/,
    );
    await assert.rejects(
      () => loadDataFile(one({ path: "bad.json" }, dir)),
      /Cannot parse JSON ".*bad.json"/,
    );
  });
});

Deno.test("loadDataFile() reads a headerless CSV whose rows differ in length, as Python's csv.reader does", async () => {
  await withFiles({ "inv.csv": "spinach,shelf 3\nbeans,box 7,top\nrice\n" }, async (dir) => {
    assert.deepEqual(await loadDataFile(one({ path: "inv.csv", keyIndex: 0 }, dir)), {
      spinach: ["spinach", "shelf 3"],
      beans: ["beans", "box 7", "top"],
      rice: ["rice"],
    });
    assert.deepEqual(await loadDataFile(one({ path: "inv.csv", header: false }, dir)), [
      ["spinach", "shelf 3"],
      ["beans", "box 7", "top"],
      ["rice"],
    ]);
    await assert.rejects(
      () => loadDataFile(one({ path: "inv.csv", keyIndex: 1 }, dir)),
      /data row 3 has no column index 1/,
    );
  });
});

Deno.test("loadDataFile() keys CSV rows by the transformed row, so a transform can build the key", async () => {
  await withFiles({
    "names.csv": "first,last,shelf\nAda,Lovelace,3\nGrace,Hopper,7\n",
    "full.js": "export default (row) => ({ ...row, full: row.first + ' ' + row.last });",
    "inv.csv": "a,3\nb,7\n",
    "upper.js": "export default (row) => [row[0].toUpperCase(), ...row];",
    "drop.js": "export default ({ first, ...rest }) => rest;",
  }, async (dir) => {
    assert.deepEqual(
      await loadDataFile(one({ path: "names.csv", key: "full", transform: "full.js" }, dir)),
      {
        "Ada Lovelace": { first: "Ada", last: "Lovelace", shelf: "3", full: "Ada Lovelace" },
        "Grace Hopper": { first: "Grace", last: "Hopper", shelf: "7", full: "Grace Hopper" },
      },
    );
    assert.deepEqual(
      await loadDataFile(one({ path: "inv.csv", keyIndex: 0, transform: "upper.js" }, dir)),
      { A: ["A", "a", "3"], B: ["B", "b", "7"] },
    );
    // A transform that leaves the key column out is keyed by the row as read.
    assert.deepEqual(
      await loadDataFile(one({ path: "names.csv", key: "first", transform: "drop.js" }, dir)),
      { Ada: { last: "Lovelace", shelf: "3" }, Grace: { last: "Hopper", shelf: "7" } },
    );
    await assert.rejects(
      () => loadDataFile(one({ path: "names.csv", key: "nope", transform: "drop.js" }, dir)),
      /data row 1 has no column "nope", before or after the transform/,
    );
  });
});

Deno.test("loadDataFile() refuses a CSV or JSON file that is not UTF-8, naming the line, instead of loading U+FFFD", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // "café" in Latin-1: Python's utf-8 reader refused it; decoded leniently it became "caf\uFFFD".
    await Deno.writeFile(
      join(dir, "latin.csv"),
      Uint8Array.from([...new TextEncoder().encode("name,shelf\ncaf"), 0xe9, 0x2c, 0x33, 0x0a]),
    );
    await Deno.writeFile(join(dir, "latin.json"), Uint8Array.from([0x5b, 0x22, 0xe9, 0x22, 0x5d]));
    await assert.rejects(
      () => loadDataFile(one({ path: "latin.csv", key: "name" }, dir)),
      /Cannot read ".*latin\.csv": not valid UTF-8 \(line 2\)/,
    );
    await assert.rejects(
      () => loadDataFile(one({ path: "latin.json" }, dir)),
      /Cannot read ".*latin\.json": not valid UTF-8 \(line 1\)/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** The rows Python's csv.DictReader reads from `path`, opened as the replaced tool opened it. */
async function dictReaderRows(path: string, encoding = "utf-8"): Promise<unknown> {
  const script = `
import csv, io, json, sys
with io.open(sys.argv[1], "r", encoding=sys.argv[2]) as f:
    sys.stdout.write(json.dumps(list(csv.DictReader(f))))
`;
  const out = await new Deno.Command("python3", {
    args: ["-c", script, path, encoding],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
  // json.dumps writes None as null, and the None key of a long row's extra values as "null".
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

Deno.test("loadDataFile() reads a CSV with a header row as Python's csv.DictReader does", async (t) => {
  const cases: [string, string][] = [
    ["exact rows", "id,name\n1,Ada\n2,Grace\n"],
    ["a short row (missing fields are null)", "id,name,shelf\n1,Ada\n2,Grace,7\n3\n"],
    ["a long row (extra values kept)", "id,name\n1,Ada,top,left\n2,Grace\n"],
    ["quoted commas and newlines", 'id,note\n1,"a, b"\n2,"line 1\nline 2",x\n3,"say ""hi"""\n'],
    ["empty lines", "id,name\n\n1,Ada\n\n\n2,Grace\n\n"],
    ["CRLF line ends, in quoted fields too", 'id,note\r\n1,"a\r\nb"\r\n2,c\r\n'],
    ["a column named twice (the later wins)", "id,x,x\n1,a,b\n2,c\n"],
    ["no data rows", "id,name\n"],
  ];
  await withFiles(
    Object.fromEntries(cases.map(([, text], i) => [`c${i}.csv`, text])),
    async (dir) => {
      for (const [i, [what]] of cases.entries()) {
        await t.step(what, async () => {
          const path = join(dir, `c${i}.csv`);
          assert.deepEqual(
            await loadDataFile(one({ path: `c${i}.csv`, header: true }, dir)),
            await dictReaderRows(path),
          );
        });
      }
    },
  );
  await t.step("a BOM (dropped, as utf-8-sig does)", async () => {
    // The replaced tool opened files as "utf-8", keeping the BOM in the first
    // column's name ("\uFEFFid"), so keying by that column failed there.
    await withFiles({ "bom.csv": "\uFEFFid,name\n1,Ada,x\n2\n" }, async (dir) => {
      const rows = await loadDataFile(one({ path: "bom.csv", header: true }, dir));
      assert.deepEqual(rows, await dictReaderRows(join(dir, "bom.csv"), "utf-8-sig"));
      assert.deepEqual(rows, [{ id: "1", name: "Ada", null: ["x"] }, { id: "2", name: null }]);
    });
  });
});

Deno.test("loadDataFile() keys a CSV whose rows differ in length from its header, keeping every value", async () => {
  await withFiles({
    "inv.csv": "item,shelf\nspinach\nbeans,7,top,left\nrice,3\n",
    "clash.csv": "id,null\n1,2\n3,4,5\n",
    "mark.js": "export default (row, key) => ({ ...row, key, shelf: row.shelf ?? 'unknown' });",
  }, async (dir) => {
    assert.deepEqual(await loadDataFile(one({ path: "inv.csv", key: "item" }, dir)), {
      spinach: { item: "spinach", shelf: null },
      beans: { item: "beans", shelf: "7", null: ["top", "left"] },
      rice: { item: "rice", shelf: "3" },
    });
    assert.deepEqual(
      await loadDataFile(one({ path: "inv.csv", key: "item", transform: "mark.js" }, dir)),
      {
        spinach: { item: "spinach", shelf: "unknown", key: "spinach" },
        beans: { item: "beans", shelf: "7", null: ["top", "left"], key: "beans" },
        rice: { item: "rice", shelf: "3", key: "rice" },
      },
    );
    // A column named "null" would take the extra values' key: refused, not overwritten.
    await assert.rejects(
      () => loadDataFile(one({ path: "clash.csv", key: "id" }, dir)),
      /Cannot read CSV ".*clash\.csv": data row 2 has 3 fields for 2 columns, and the extra values' key "null" is a column name \(rename that column\)/,
    );
    // Rows that fit the header load from the same file.
    await Deno.writeTextFile(join(dir, "clash.csv"), "id,null\n1,2\n3\n");
    assert.deepEqual(await loadDataFile(one({ path: "clash.csv", key: "id" }, dir)), {
      "1": { id: "1", null: "2" },
      "3": { id: "3", null: null },
    });
  });
});

Deno.test("loadDataFile() keys JSON and reader-module rows by the transformed row, as CSV rows are", async () => {
  await withFiles({
    "names.json": '[{"first":"Ada","last":"Lovelace"},{"first":"Grace","last":"Hopper"}]',
    "names.txt": "Ada Lovelace\nGrace Hopper\n",
    "split.js":
      "export default (text) => text.trim().split('\\n').map((l) => { const [first, last] = l.split(' '); return { first, last }; });",
    "full.js": "export default (row, key) => ({ ...row, full: row.first + ' ' + row.last, key });",
    "drop.js": "export default ({ first, ...rest }, key) => ({ ...rest, key });",
  }, async (dir) => {
    const built = {
      "Ada Lovelace": { first: "Ada", last: "Lovelace", full: "Ada Lovelace", key: 0 },
      "Grace Hopper": { first: "Grace", last: "Hopper", full: "Grace Hopper", key: 1 },
    };
    assert.deepEqual(
      await loadDataFile(one({ path: "names.json", key: "full", transform: "full.js" }, dir)),
      built,
    );
    assert.deepEqual(
      await loadDataFile(
        one({ path: "names.txt", reader: "split.js", key: "full", transform: "full.js" }, dir),
      ),
      built,
    );
    // A transform that leaves the key field out is keyed by the row as read, and gets that key.
    assert.deepEqual(
      await loadDataFile(one({ path: "names.json", key: "first", transform: "drop.js" }, dir)),
      { Ada: { last: "Lovelace", key: "Ada" }, Grace: { last: "Hopper", key: "Grace" } },
    );
    await assert.rejects(
      () => loadDataFile(one({ path: "names.json", key: "nope", transform: "drop.js" }, dir)),
      /Cannot key ".*names\.json": item 0 has no field "nope", before or after the transform/,
    );
  });
});
