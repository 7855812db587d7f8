import assert from "node:assert/strict";
import { localAddresses, ReplyLimit, sourceDropReason } from "./_udp_guard.ts";

Deno.test("sourceDropReason() refuses the server's own address and port, and source port 0", async (t) => {
  const local = localAddresses();
  await t.step("own port on a loopback or local address: the server itself", () => {
    assert.equal(
      sourceDropReason({ hostname: "127.0.0.1", port: 9000 }, 9000, local),
      "own_address",
    );
    assert.equal(
      sourceDropReason({ hostname: "127.0.1.1", port: 9000 }, 9000, local),
      "own_address",
    );
    assert.equal(sourceDropReason({ hostname: "::1", port: 9000 }, 9000, local), "own_address");
    assert.equal(
      sourceDropReason({ hostname: "::ffff:127.0.0.1", port: 9000 }, 9000, local),
      "own_address",
    );
    assert.equal(
      sourceDropReason({ hostname: "192.0.2.7", port: 9000 }, 9000, new Set(["192.0.2.7"])),
      "own_address",
    );
  });
  await t.step("port 0 cannot be a client", () => {
    assert.equal(sourceDropReason({ hostname: "192.0.2.7", port: 0 }, 9000, local), "port_0");
  });
  await t.step("another port, or the same port on another host, is answered", () => {
    assert.equal(sourceDropReason({ hostname: "127.0.0.1", port: 9001 }, 9000, local), undefined);
    assert.equal(sourceDropReason({ hostname: "192.0.2.7", port: 9000 }, 9000, local), undefined);
  });
});

Deno.test("ReplyLimit allows a few error replies per source per window, in a bounded map", () => {
  let now = 0;
  const limit = new ReplyLimit({
    perWindow: 3,
    windowMs: 1000,
    maxSources: 2,
    now: () => now,
  });
  assert.deepEqual([1, 2, 3, 4].map(() => limit.take("a")), [true, true, true, false]);
  assert.equal(limit.take("b"), true);
  assert.equal(limit.take("c"), false, "a third source in a full map gets none");
  now = 1000;
  assert.equal(limit.take("a"), true, "a new window starts afresh");
  assert.equal(limit.take("c"), true);
});
