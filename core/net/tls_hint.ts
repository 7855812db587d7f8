/**
 * Hints for the two TLS mismatches a client meets: TLS spoken to a plain
 * server (the reply is no TLS record) and plain text sent to a TLS server
 * (the reply is a TLS alert record).
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
