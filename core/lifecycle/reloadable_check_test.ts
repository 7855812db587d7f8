import assert from "node:assert/strict";
import type { PeerIdentity } from "../net/mod.ts";
import { ReloadableCheck } from "./reloadable_check.ts";

const alice: PeerIdentity = {
  address: "127.0.0.1",
  port: 1,
  tls: true,
  authorized: true,
  cn: "alice",
  fingerprint: "AA",
};

Deno.test("ReloadableCheck.authorize asks the check put in force last, and none admits every peer", () => {
  const check = new ReloadableCheck(() => undefined);
  const { authorize } = check;
  assert.equal(authorize(alice), undefined);
  check.replace((p) => p.cn === "alice" ? "certificate CN=alice was revoked" : undefined);
  assert.equal(authorize(alice), "certificate CN=alice was revoked");
  check.replace(undefined);
  assert.equal(authorize(alice), undefined);
});
