import assert from "node:assert/strict";
import { AddressCaps } from "./_admission.ts";

Deno.test("AddressCaps counts the addresses of one /64 together and frees a place on release", () => {
  const caps = new AddressCaps({ maxPerAddress: 2 });
  assert.equal(caps.admit("fd00:0:0:7::a"), undefined);
  assert.equal(caps.admit("fd00:0:0:7::b"), undefined);
  const over = caps.admit("fd00:0:0:7:ffff::c");
  assert.deepEqual(over, {
    reason: 'too many connections from "fd00:0:0:7::/64": 2 open, the per-address cap is 2 ' +
      "(IPv6 addresses count by their first 64 bits, --ipv6-prefix)",
    kind: "cap",
  });
  assert.equal(caps.admit("fd00:0:0:8::a"), undefined, "another /64 has its own places");
  caps.release("fd00:0:0:7::a");
  assert.equal(caps.admit("fd00:0:0:7:ffff::c"), undefined, "a place freed by a close");
  assert.equal(caps.admit("::1"), undefined, "loopback is not counted");
});

Deno.test("AddressCaps with ipv6Prefix 128 counts each address, and IPv4 as it always did", () => {
  const caps = new AddressCaps({ maxPerAddress: 1, ipv6Prefix: 128 });
  assert.equal(caps.admit("fd00:0:0:7::a"), undefined);
  assert.equal(caps.admit("fd00:0:0:7::b"), undefined);
  assert.equal(caps.admit("fd00:0:0:7::a")?.kind, "cap");
  assert.equal(caps.admit("198.51.100.7"), undefined);
  assert.equal(
    caps.admit("::ffff:198.51.100.7")?.reason,
    'too many connections from "198.51.100.7": 1 open, the per-address cap is 1',
  );
});
