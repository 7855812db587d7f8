import assert from "node:assert/strict";
import { join } from "node:path";
import { Journal, parseRecords, RECORD_HEADER_BYTES } from "./journal.ts";
import { JournalFullError } from "./errors.ts";
import { crc32 } from "../checksum/mod.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

Deno.test("crc32() matches the standard check value", () => {
  assert.equal(crc32(enc("123456789")), 0xcbf43926);
});

Deno.test("Journal keeps records in order across reopen and clears", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "p.journal");
    const j = Journal.open(path, { name: "p" });
    for (const s of ["a", "bb", "ccc"]) j.append(enc(s));
    await j.flush();
    j.close();
    const j2 = Journal.open(path, { name: "p" });
    assert.equal(j2.count, 3);
    assert.deepEqual(j2.readAll().map(dec), ["a", "bb", "ccc"]);
    j2.clear();
    assert.equal(j2.count, 0);
    j2.close();
    assert.equal(Deno.statSync(path).size, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Journal refuses an append past its cap with JournalFullError", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const j = Journal.open(join(dir, "p.journal"), {
      name: "bob",
      maxBytes: 3 * (RECORD_HEADER_BYTES + 10),
    });
    for (let i = 0; i < 3; i++) j.append(new Uint8Array(10));
    assert.throws(() => j.append(new Uint8Array(10)), JournalFullError);
    assert.throws(
      () => j.append(new Uint8Array(10)),
      /Journal for peer "bob" is full: 54 byte limit/,
    );
    j.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Journal reports a corrupt or truncated tail, cuts it off and keeps the records before it", async (t) => {
  const dir = await Deno.makeTempDir();
  try {
    for (
      const [name, damage] of [
        ["truncated", (b: Uint8Array) => b.subarray(0, b.length - 2)],
        ["flipped byte", (b: Uint8Array) => (b[b.length - 1]! ^= 0xff, b)],
        ["half header", (b: Uint8Array) => new Uint8Array([...b, 0, 0, 1])],
      ] as const
    ) {
      await t.step(name, async () => {
        const path = join(dir, `${name}.journal`);
        const j = Journal.open(path, { name: "p" });
        for (const s of ["one", "two", "three"]) j.append(enc(s));
        await j.flush();
        j.close();
        Deno.writeFileSync(path, damage(Deno.readFileSync(path)));
        const reports: string[] = [];
        const j2 = Journal.open(path, { name: "p", onCorruptTail: (c) => reports.push(c.reason) });
        const expected = name === "half header" ? ["one", "two", "three"] : ["one", "two"];
        assert.deepEqual(j2.readAll().map(dec), expected);
        assert.equal(reports.length, 1);
        j2.append(enc("four"));
        await j2.flush();
        j2.close();
        assert.deepEqual(parseRecords(Deno.readFileSync(path)).records.map(dec), [
          ...expected,
          "four",
        ]);
      });
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Journal.rewrite() replaces the records and later appends follow them", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "p.journal");
    const j = Journal.open(path, { name: "p" });
    for (const s of ["a", "b", "c"]) j.append(enc(s));
    j.rewrite([enc("x"), enc("y")]);
    j.append(enc("z"));
    await j.flush();
    assert.equal(j.count, 3);
    j.close();
    assert.deepEqual(parseRecords(Deno.readFileSync(path)).records.map(dec), ["x", "y", "z"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
