import assert from "node:assert/strict";
import { JsonStreamFramer } from "./json_stream.ts";
import { PayloadTooLargeError, ProtocolError } from "../errors.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Feeds `parts` and returns every value as text. */
function frame(parts: Uint8Array[], maxValueBytes = 1 << 20): string[] {
  const framer = new JsonStreamFramer({ maxValueBytes });
  const out: string[] = [];
  for (const p of parts) framer.push(p, (b) => out.push(dec.decode(b)));
  framer.flush((b) => out.push(dec.decode(b)));
  return out;
}

/** Every way to cut `bytes` in two, plus one-byte feeds. */
function* splits(bytes: Uint8Array): Generator<[string, Uint8Array[]]> {
  for (let cut = 0; cut <= bytes.length; cut++) {
    yield [`cut at ${cut}`, [bytes.subarray(0, cut), bytes.subarray(cut)]];
  }
  yield ["one byte at a time", Array.from(bytes, (_, i) => bytes.subarray(i, i + 1))];
}

const tricky = [
  `{"a":1,"b":{"c":[1,2,{"d":"}"}]}}`,
  `{"s":"brace { and } and [ ] inside"}`,
  `{"q":"escaped \\" quote","bs":"backslash \\\\","end":"\\\\"}`,
  `{"text":"héllo wörld — 日本語 🎉"}`,
  `[1,"two",{"three":3}]`,
  `"top-level string with } and \\" inside"`,
];

Deno.test("JsonStreamFramer delivers back-to-back values at every split point", () => {
  const input = tricky.join("") + "42 true null -1.5e3";
  const want = [...tricky, "42", "true", "null", "-1.5e3"];
  for (const [, parts] of splits(enc.encode(input))) {
    assert.deepEqual(frame(parts), want);
  }
  for (const v of tricky) JSON.parse(v); // the fixtures themselves are valid JSON
});

Deno.test("JsonStreamFramer accepts whitespace and newline separators at every split point", () => {
  const input = `\n  ${tricky[0]}\r\n${tricky[1]}\t\t${tricky[2]} \n\n${tricky[3]}\n`;
  for (const [name, parts] of splits(enc.encode(input))) {
    assert.deepEqual(frame(parts), tricky.slice(0, 4), name);
  }
});

Deno.test("JsonStreamFramer ends a bare scalar where the next value starts", () => {
  assert.deepEqual(frame([enc.encode(`1{"a":2}3"x"false[4]`)]), [
    "1",
    `{"a":2}`,
    "3",
    `"x"`,
    "false",
    "[4]",
  ]);
});

Deno.test("JsonStreamFramer keeps an unfinished value pending across chunks", () => {
  const framer = new JsonStreamFramer({ maxValueBytes: 100 });
  const out: string[] = [];
  framer.push(enc.encode(`{"a":1}{"b":`), (b) => out.push(dec.decode(b)));
  assert.deepEqual(out, [`{"a":1}`]);
  assert.equal(framer.pending, 5);
  framer.push(enc.encode(`"x"}`), (b) => out.push(dec.decode(b)));
  assert.deepEqual(out, [`{"a":1}`, `{"b":"x"}`]);
  assert.equal(framer.pending, 0);
});

Deno.test("JsonStreamFramer.flush reports the bytes of an unfinished value", () => {
  const framer = new JsonStreamFramer({ maxValueBytes: 100 });
  framer.push(enc.encode(`{"a":`), () => assert.fail("no value is complete"));
  assert.equal(framer.flush(() => assert.fail("an unfinished object is not delivered")), 5);
});

Deno.test("JsonStreamFramer rejects a value over the limit with the sizes in the message", async (t) => {
  await t.step("in one chunk, after delivering the values before it", () => {
    const framer = new JsonStreamFramer({ maxValueBytes: 10 });
    const out: string[] = [];
    assert.throws(
      () => framer.push(enc.encode(`{"a":1}{"abc":"12345"}`), (b) => out.push(dec.decode(b))),
      (e: unknown) => {
        assert.ok(e instanceof PayloadTooLargeError);
        assert.equal(e.message, "JSON value too large: 15 bytes exceeds the 10 byte limit");
        return true;
      },
    );
    assert.deepEqual(out, [`{"a":1}`]);
  });
  await t.step("across chunks, as soon as the buffered part passes the limit", () => {
    const framer = new JsonStreamFramer({ maxValueBytes: 10 });
    framer.push(enc.encode(`{"abc":`), () => {});
    assert.throws(
      () => framer.push(enc.encode(`"12345`), () => {}),
      {
        name: "PayloadTooLargeError",
        message: "JSON value too large: 13 bytes exceeds the 10 byte limit",
      },
    );
    assert.throws(() => framer.push(enc.encode(`"}`), () => {}), PayloadTooLargeError);
  });
  await t.step("a value of exactly the limit is accepted", () => {
    assert.deepEqual(frame([enc.encode(`{"a":"12"}`)], 10), [`{"a":"12"}`]);
  });
  await t.step("at every split point", () => {
    for (const [name, parts] of splits(enc.encode(`{"a":1} {"abc":"12345"}`))) {
      const framer = new JsonStreamFramer({ maxValueBytes: 10 });
      const out: string[] = [];
      assert.throws(
        () => {
          for (const p of parts) framer.push(p, (b) => out.push(dec.decode(b)));
        },
        PayloadTooLargeError,
        name,
      );
      assert.deepEqual(out, [`{"a":1}`], name);
    }
  });
});

Deno.test("JsonStreamFramer rejects a byte that cannot start a value", async (t) => {
  const cases: [string, string][] = [
    [
      `{"a":1} }`,
      `Invalid JSON stream: unexpected byte 0x7d ("}") at stream offset 8 where a value should start (expected an object, array, string, number, true, false or null)`,
    ],
    [
      `1,2`,
      `Invalid JSON stream: unexpected byte 0x2c (",") at stream offset 1 where a value should start (expected an object, array, string, number, true, false or null)`,
    ],
    [
      `\x00`,
      `Invalid JSON stream: unexpected byte 0x00 at stream offset 0 where a value should start (expected an object, array, string, number, true, false or null)`,
    ],
  ];
  for (const [input, message] of cases) {
    await t.step(JSON.stringify(input), () => {
      const framer = new JsonStreamFramer({ maxValueBytes: 100 });
      const out: string[] = [];
      assert.throws(() => framer.push(enc.encode(input), (b) => out.push(dec.decode(b))), (e) => {
        assert.ok(e instanceof ProtocolError);
        assert.equal((e as Error).message, message);
        return true;
      });
      // The framer stays failed.
      assert.throws(() => framer.push(enc.encode("{}"), () => {}), { message });
    });
  }
  await t.step("the offset counts bytes of earlier chunks", () => {
    const framer = new JsonStreamFramer({ maxValueBytes: 100 });
    framer.push(enc.encode(`{"a":1}\n`), () => {});
    assert.throws(() => framer.push(enc.encode(`  ]`), () => {}), /at stream offset 10 /);
  });
});

Deno.test("JsonStreamFramer delivers values from one chunk without copying", () => {
  const chunk = enc.encode(`{"a":1}{"b":2}`);
  const framer = new JsonStreamFramer({ maxValueBytes: 100 });
  const seen: Uint8Array[] = [];
  framer.push(chunk, (b) => seen.push(b));
  assert.equal(seen.length, 2);
  for (const b of seen) assert.equal(b.buffer, chunk.buffer);
});

Deno.test("JsonStreamFramer copies a value spanning chunks so callers may reuse buffers", () => {
  const framer = new JsonStreamFramer({ maxValueBytes: 100 });
  const buf = enc.encode(`{"a":`);
  framer.push(buf, () => {});
  buf.fill(0x20); // the caller reuses its read buffer
  let got = "";
  framer.push(enc.encode(`1}`), (b) => got = dec.decode(b));
  assert.equal(got, `{"a":1}`);
});
