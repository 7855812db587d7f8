import type { PeerIdentity } from "../net/mod.ts";
import type { ClientFilter } from "./client_filter.ts";
import type { ConnectorOptions } from "./options.ts";

/** Why a client's hello is turned away; `fatal`: the client must not retry. */
export interface HelloRefusal {
  reason: string;
  fatal: boolean;
}

/**
 * The server's checks of a client's hello, in order: the certificate names
 * the claimed connector name, it is not revoked, the allow/deny lists take
 * the name and address, and the `admit` hook agrees (its refusal is final
 * unless it says `final: false`). Resolves with the first refusal, or
 * `undefined` to admit the client.
 */
export async function checkHello(
  name: unknown,
  id: PeerIdentity,
  server: ConnectorOptions["server"],
  clientFilter: ClientFilter | undefined,
): Promise<HelloRefusal | undefined> {
  const cn = id.cn;
  if (typeof name !== "string" || name !== cn) {
    return {
      reason:
        `certificate names "${cn}" but the connector claims the name "${name}" (issue a certificate for "${name}" with "sockkit certs issue ${name}")`,
      fatal: true,
    };
  }
  const refusal = server?.authorize?.(id);
  if (refusal !== undefined) {
    // A revocation is final for the client; a revocation list the server cannot read is not.
    return {
      reason: `certificate of "${name}" refused: ${refusal}`,
      fatal: !refusal.startsWith("cannot check"),
    };
  }
  const filtered = clientFilter?.check(name, id.address);
  if (filtered !== undefined) {
    // not final: the operator may change the lists while the client keeps retrying
    return { reason: `refused by the server's client filter: ${filtered}`, fatal: false };
  }
  const no = await server?.admit?.(id, name);
  if (no === undefined) return undefined;
  return typeof no === "string" ? { reason: no, fatal: true } : { reason: no.reason, fatal: false };
}
