/**
 * Picks a TCP port that is free on `hostname` right now (the OS chooses it),
 * for starting a child server or a test listener on. Another process may take
 * it before it is bound again; callers that start servers retry on
 * "Address already in use".
 *
 * @example
 * ```ts
 * const port = freeTcpPort(); // e.g. 41873
 * ```
 */
export function freeTcpPort(hostname = "127.0.0.1"): number {
  const l = Deno.listen({ hostname, port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}
