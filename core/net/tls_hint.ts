/**
 * Hints for the TLS mismatches a client meets: TLS spoken to a plain
 * server (the reply is no TLS record), plain text sent to a TLS server
 * (the reply is a TLS alert record), and a server certificate for another
 * host name (which names it does hold).
 */

/**
 * When a TLS connect failed because the server answered in plain text, an
 * error saying so and naming the fix; otherwise `undefined`.
 */
export function notTlsServerError(err: unknown, where: string): Error | undefined {
  if (!/InvalidContentType|wrong version number/i.test(String(err))) return undefined;
  return new Error(
    `Cannot connect to ${where} over TLS: the server does not speak TLS (drop --tls)`,
    { cause: err },
  );
}

/** Whether plain-text reply bytes are a TLS record (an alert or handshake): the server wants TLS. */
export function looksLikeTlsRecord(reply: Uint8Array): boolean {
  return reply.length >= 3 && (reply[0] === 0x15 || reply[0] === 0x16) && reply[1] === 0x03;
}

/** The part of a `node:tls` host-name mismatch error this module reads. */
interface NameMismatch {
  code: "ERR_TLS_CERT_ALTNAME_INVALID";
  cert?: { subject?: { CN?: string | string[] }; subjectaltname?: string };
}

function isNameMismatch(err: unknown): err is NameMismatch {
  return typeof err === "object" && err !== null &&
    (err as { code?: unknown }).code === "ERR_TLS_CERT_ALTNAME_INVALID";
}

/**
 * When `err` (or an error in its `cause` chain) is a TLS host-name mismatch,
 * the host names the server certificate holds, which a client may verify it
 * for: its DNS subjectAltNames, or its CN when it has no subjectAltName (as
 * `node:tls` checks them; IP entries are left out, an address is connected
 * to, not named). An empty list when it holds none; `undefined` when `err`
 * is no host-name mismatch.
 *
 * @example
 * ```ts
 * // a README-made certificate (CN=example.com, no subjectAltName) reached as "localhost"
 * certificateNames(err); // ["example.com"]
 * ```
 */
export function certificateNames(err: unknown): string[] | undefined {
  let e: unknown = err;
  for (let depth = 0; depth < 8 && e !== undefined && e !== null; depth++) {
    if (isNameMismatch(e)) {
      const san = e.cert?.subjectaltname ?? "";
      if (san !== "") {
        return san.split(",").map((s) => s.trim()).filter((s) => s.startsWith("DNS:"))
          .map((s) => s.slice(4));
      }
      const cn = e.cert?.subject?.CN;
      return cn === undefined ? [] : [cn].flat();
    }
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/** `the server certificate is for "a.test", "b.test"`, or that it holds no host name. */
export function certificateNamesNote(names: readonly string[]): string {
  return names.length === 0
    ? "the server certificate holds no host name"
    : `the server certificate is for ${names.map((n) => `"${n}"`).join(", ")}`;
}
