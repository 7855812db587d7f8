import assert from "node:assert/strict";
import type { TLSSocket } from "node:tls";
import { checkClientChain, clientTrustOf } from "./_client_chain.ts";

Deno.test("a client chain the check cannot read is refused, not thrown into the handshake", () => {
  const unreadable = {
    getPeerCertificate: () => ({ fingerprint256: "AA:BB", raw: new Uint8Array([0x30, 0x85]) }),
  } as unknown as TLSSocket;
  const reason = checkClientChain(unreadable, clientTrustOf([], []));
  assert.match(reason ?? "", /^its certificate chain cannot be read: /);
});
