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

Deno.test("ReplyLimit allows a few replies per source per window; sources past its map share bounded counters", () => {
  let now = 0;
  const limit = new ReplyLimit({
    perWindow: 3,
    windowMs: 1000,
    maxSources: 2,
    now: () => now,
  });
  assert.deepEqual([1, 2, 3, 4].map(() => limit.take("a")), [true, true, true, false]);
  assert.equal(limit.take("b"), true);
  // a third source past the full map is still limited to perWindow, not refused outright
  assert.deepEqual([1, 2, 3, 4].map(() => limit.take("c")), [true, true, true, false]);
  now = 1000;
  assert.equal(limit.take("a"), true, "a new window starts afresh");
  assert.equal(limit.take("c"), true);
});

Deno.test("ReplyLimit: a flood from thousands of forged sources does not lock a new client out", () => {
  let now = 0;
  const limit = new ReplyLimit({ perWindow: 50, windowMs: 1000, now: () => now });
  // 20,000 forged sources a second, one datagram each, fill the exact map (4,096) many times over
  for (let i = 0; i < 20_000; i++) limit.take(`198.51.${i >> 8}.${i & 255}`);
  // Before: every source past the map got nothing for the rest of the window.
  const answered = [1, 2, 3, 4, 5].filter(() => limit.take("203.0.113.9")).length;
  assert.equal(answered, 5, "a new client is answered");
  // and each overflow source is still bounded by perWindow
  let sent = 0;
  for (let i = 0; i < 200; i++) if (limit.take("192.0.2.200")) sent++;
  assert.ok(sent <= 50, `an overflow source got ${sent} replies`);
  assert.ok(sent >= 40, `an overflow source got only ${sent} replies (its counter is shared)`);
  now = 1000;
  for (let i = 0; i < 50; i++) assert.equal(limit.take("192.0.2.200"), true, "the new window");
});

Deno.test("ReplyLimit with a cost per take is a byte budget: a reply that does not fit is refused and takes nothing", () => {
  let now = 0;
  const bytes = new ReplyLimit({ perWindow: 1000, windowMs: 1000, maxSources: 1, now: () => now });
  assert.equal(bytes.take("a", 600), true);
  assert.equal(bytes.take("a", 600), false, "1,200 bytes would pass the budget");
  assert.equal(bytes.take("a", 400), true, "the refused one took nothing");
  assert.equal(bytes.take("a", 1), false);
  assert.equal(bytes.take("b", 1001), false, "one reply over the whole budget, past the map too");
  assert.equal(bytes.take("b", 1000), true);
  now = 1000;
  assert.equal(bytes.take("a", 1000), true, "a new window starts afresh");
});
