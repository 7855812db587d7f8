/**
 * Picks a TCP port that is free on `hostname` right now, for starting a
 * child server or a test listener on. Where the kernel says which ports it
 * gives to outgoing connections (Linux: `ip_local_port_range`), the port is
 * picked at random below that range: a port the OS chose for port 0 is in
 * it, and any outgoing connection (a test's client, another test's load)
 * could take it as its own local port before the server binds it. Another
 * process may still take it first; callers that start servers retry on
 * "Address already in use".
 *
 * @example
 * ```ts
 * const port = freeTcpPort(); // e.g. 23817
 * ```
 */
export function freeTcpPort(hostname = "127.0.0.1"): number {
  const below = ephemeralLow();
  if (below !== undefined && below > LOWEST + 1024) {
    for (let tries = 0; tries < 64; tries++) {
      const port = LOWEST + Math.floor(Math.random() * (below - LOWEST));
      if (bindable(hostname, port)) return port;
    }
  }
  const l = Deno.listen({ hostname, port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** The lowest port picked (well above the well-known and registered service ports most hosts run). */
const LOWEST = 10_000;

/** The first port of the kernel's range for outgoing connections, when it can be read. */
function ephemeralLow(): number | undefined {
  try {
    const low = Number(
      Deno.readTextFileSync("/proc/sys/net/ipv4/ip_local_port_range").trim().split(/\s+/)[0],
    );
    return Number.isInteger(low) && low > 0 ? low : undefined;
  } catch {
    return undefined;
  }
}

function bindable(hostname: string, port: number): boolean {
  try {
    Deno.listen({ hostname, port }).close();
    return true;
  } catch {
    return false;
  }
}
