import assert from "node:assert/strict";
import { LineFramer } from "./lines.ts";
import { PayloadTooLargeError } from "../errors.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

function* splits(bytes: Uint8Array): Generator<[string, Uint8Array[]]> {
  for (let cut = 0; cut <= bytes.length; cut++) {
    yield [`cut at ${cut}`, [bytes.subarray(0, cut), bytes.subarray(cut)]];
  }
  yield ["one byte at a time", Array.from(bytes, (_, i) => bytes.subarray(i, i + 1))];
}

function lines(parts: Uint8Array[], maxLineBytes = 1024): { lines: string[]; rest: string } {
  const framer = new LineFramer({ maxLineBytes });
  const out: string[] = [];
  for (const p of parts) framer.push(p, (l) => out.push(dec.decode(l)));
  return { lines: out, rest: dec.decode(framer.takeRest()) };
}

Deno.test("LineFramer splits \\n and \\r\\n lines at every split point", () => {
  const input = enc.encode("first\nsecond\r\n\nwith \r inside\r\nhéllo 🎉\nunterminated");
  for (const [name, parts] of splits(input)) {
    assert.deepEqual(
      lines(parts),
      {
        lines: ["first", "second", "", "with \r inside", "héllo 🎉"],
        rest: "unterminated",
      },
      name,
    );
  }
});

Deno.test("LineFramer.takeRest returns the unterminated remainder once", () => {
  const framer = new LineFramer({ maxLineBytes: 100 });
  framer.push(enc.encode("a\nbc"), () => {});
  assert.equal(framer.pending, 2);
  assert.equal(dec.decode(framer.takeRest()), "bc");
  assert.equal(framer.pending, 0);
  assert.equal(framer.takeRest().length, 0);
});

Deno.test("LineFramer rejects a line over the limit", async (t) => {
  await t.step("complete in one chunk, after the lines before it", () => {
    const framer = new LineFramer({ maxLineBytes: 5 });
    const out: string[] = [];
    assert.throws(
      () => framer.push(enc.encode("ok\n123456\n"), (l) => out.push(dec.decode(l))),
      (e: unknown) => {
        assert.ok(e instanceof PayloadTooLargeError);
        assert.equal(e.message, "Line too large: 6 bytes exceeds the 5 byte limit");
        return true;
      },
    );
    assert.deepEqual(out, ["ok"]);
    assert.throws(() => framer.push(enc.encode("x\n"), () => {}), PayloadTooLargeError);
  });
  await t.step("unterminated, as soon as it passes the limit", () => {
    const framer = new LineFramer({ maxLineBytes: 5 });
    framer.push(enc.encode("1234"), () => {});
    assert.throws(() => framer.push(enc.encode("567"), () => {}), {
      message: "Line too large: 7 bytes exceeds the 5 byte limit",
    });
  });
  await t.step("a line of exactly the limit is accepted with either terminator", () => {
    for (const [name, parts] of splits(enc.encode("12345\r\n12345\n"))) {
      assert.deepEqual(lines(parts, 5).lines, ["12345", "12345"], name);
    }
  });
  await t.step("at every split point", () => {
    for (const [name, parts] of splits(enc.encode("ok\n1234567\n"))) {
      const framer = new LineFramer({ maxLineBytes: 5 });
      assert.throws(
        () => {
          for (const p of parts) framer.push(p, () => {});
        },
        PayloadTooLargeError,
        name,
      );
    }
  });
});

Deno.test("LineFramer copies a line spanning chunks so callers may reuse buffers", () => {
  const framer = new LineFramer({ maxLineBytes: 100 });
  const buf = enc.encode("hel");
  framer.push(buf, () => {});
  buf.fill(0x21);
  let got = "";
  framer.push(enc.encode("lo\n"), (l) => got = dec.decode(l));
  assert.equal(got, "hello");
});

function padded(parts: Uint8Array[], maxLineBytes: number, maxPaddingBytes: number) {
  const framer = new LineFramer({ maxLineBytes, maxPaddingBytes });
  const out: string[] = [];
  for (const p of parts) framer.push(p, (l) => out.push(dec.decode(l)));
  return { lines: out, rest: dec.decode(framer.takeRest()) };
}

Deno.test("LineFramer drops trailing NUL padding without counting it, at every split point", async (t) => {
  const nuls = (n: number) => "\0".repeat(n);
  await t.step("padding after \\n, \\r\\n and at the end is dropped; inner NULs stay", () => {
    const input = enc.encode(`12345${nuls(9)}\n12\x0045\r\n${nuls(3)}\r\n1234${nuls(10)}`);
    for (const [name, parts] of splits(input)) {
      assert.deepEqual(
        padded(parts, 5, 10),
        { lines: ["12345", "12\x0045", ""], rest: "1234" },
        name,
      );
    }
  });
  await t.step("NULs followed by more bytes count toward the limit", () => {
    for (const [name, parts] of splits(enc.encode(`123${nuls(3)}4\n`))) {
      assert.throws(() => padded(parts, 5, 10), PayloadTooLargeError, name);
    }
  });
  await t.step("padding past maxPaddingBytes counts toward the limit", () => {
    for (const [name, parts] of splits(enc.encode(`1234${nuls(12)}`))) {
      assert.throws(() => padded(parts, 5, 10), PayloadTooLargeError, name);
    }
    assert.deepEqual(padded([enc.encode(`1234${nuls(11)}\n`)], 5, 10).lines, ["1234"]);
  });
  await t.step("without maxPaddingBytes NULs are ordinary bytes", () => {
    assert.deepEqual(padded([enc.encode("ab\0\0\ncd\0")], 5, 0), {
      lines: ["ab\0\0"],
      rest: "cd\0",
    });
    assert.throws(() => padded([enc.encode(`1234${nuls(2)}`)], 5, 0), PayloadTooLargeError);
  });
  await t.step("a long run of padding is never held", () => {
    const framer = new LineFramer({ maxLineBytes: 5, maxPaddingBytes: 1 << 20 });
    framer.push(enc.encode("abc"), () => {});
    for (let i = 0; i < 64; i++) framer.push(new Uint8Array(8192), () => {});
    assert.equal(framer.pending, 3 + 64 * 8192);
    assert.equal(dec.decode(framer.takeRest()), "abc");
    assert.equal(framer.pending, 0);
  });
});

Deno.test("LineFramer.push stops after a line when onLine returns false and says where", () => {
  const framer = new LineFramer({ maxLineBytes: 100 });
  const chunk = enc.encode("a\nb\nc\nd");
  const out: string[] = [];
  const at = framer.push(chunk, (l) => out.push(dec.decode(l)) < 2);
  assert.deepEqual(out, ["a", "b"]);
  assert.equal(at, 4);
  assert.equal(framer.pending, 0);
  assert.equal(framer.push(chunk.subarray(at), (l) => out.push(dec.decode(l))), 3);
  assert.deepEqual(out, ["a", "b", "c"]);
  assert.equal(dec.decode(framer.takeRest()), "d");
});
