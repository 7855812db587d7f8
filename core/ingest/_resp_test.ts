import assert from "node:assert/strict";
import { encodeCommand, RedisReplyError, RespParser, type RespValue } from "./_resp.ts";

Deno.test("encodeCommand() counts UTF-8 bytes, not UTF-16 units", () => {
  assert.equal(encodeCommand(["SET", "k", "é"]), "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\né\r\n");
});

Deno.test("RespParser decodes every reply type split at every byte", () => {
  const wire = "+OK\r\n:42\r\n$5\r\nhéll\r\n$-1\r\n*3\r\n+QUEUED\r\n-WRONGTYPE bad\r\n*1\r\n:1\r\n";
  const bytes = new TextEncoder().encode(wire);
  for (let split = 1; split < bytes.length; split++) {
    const got: RespValue[] = [];
    const p = new RespParser((v) => got.push(v));
    p.push(bytes.subarray(0, split));
    p.push(bytes.subarray(split));
    assert.equal(got.length, 5, `split at ${split}`);
    assert.deepEqual(got.slice(0, 4), ["OK", 42, "héll", null]);
    const arr = got[4] as RespValue[];
    assert.equal(arr[0], "QUEUED");
    assert.ok(arr[1] instanceof RedisReplyError);
    assert.equal((arr[1] as Error).message, "WRONGTYPE bad");
    assert.deepEqual(arr[2], [1]);
  }
});

Deno.test("RespParser rejects bytes that are not RESP", () => {
  const p = new RespParser(() => {});
  assert.throws(() => p.push(new TextEncoder().encode("?x\r\n")), SyntaxError);
});
