import assert from "node:assert/strict";
import { refusalReason } from "./refusal_reason.ts";

Deno.test("refusalReason() maps every listener refusal text to a bounded reason", async (t) => {
  const cases: Array<[string, string]> = [
    ["no client certificate presented", "no_cert"],
    ["client certificate expired on 2026-01-01T00:00:00.000Z", "expired"],
    ["client certificate not allowed (UNABLE_TO_VERIFY_LEAF_SIGNATURE)", "unknown"],
    ["certificate CN=bob was revoked at 2026-11-01T00:00:00Z", "revoked"],
    ['cannot check revocation list "certs/revoked.json": permission denied', "revoked"],
    ["TLS handshake failed: no TLS handshake within 10000 ms", "timeout"],
    ["TLS handshake failed: wrong version number", "handshake"],
    ["Server full: 2 clients connected, the limit is 2", "cap"],
    ["something nobody planned for", "other"],
  ];
  for (const [text, want] of cases) {
    await t.step(text, () => assert.equal(refusalReason(text), want));
  }
});
