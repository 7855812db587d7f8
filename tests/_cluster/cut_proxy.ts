/**
 * A TCP proxy in front of a nats-server that cuts a client's NATS
 * connection at a chosen request, for tests of an outage at a given step.
 */
import { freePort } from "../harness/mod.ts";

/** What {@linkcode cutProxy} started. */
export interface CutProxy extends AsyncDisposable {
  /** `nats://127.0.0.1:PORT` of the proxy: what the client connects to. */
  readonly url: string;
  /** Whether the connection was cut and the held request sent on the client's next connection. */
  readonly replayed: boolean;
}

const CRLF = new Uint8Array([13, 10]);
const dec = new TextDecoder();

/** The end of the first CRLF in `buf` from `from`, or -1. */
function lineEnd(buf: Uint8Array, from = 0): number {
  for (let i = from; i + 1 < buf.length; i++) {
    if (buf[i] === CRLF[0] && buf[i + 1] === CRLF[1]) return i;
  }
  return -1;
}

/**
 * Splits the client's protocol bytes into whole commands: each `PUB`/`HPUB`
 * with its payload, each other command up to its CRLF (what is left waits
 * for more bytes).
 */
function commands(buf: Uint8Array): { cmds: Uint8Array[]; rest: Uint8Array } {
  const cmds: Uint8Array[] = [];
  let at = 0;
  for (;;) {
    const end = lineEnd(buf, at);
    if (end < 0) break;
    const words = dec.decode(buf.subarray(at, end)).split(" ");
    let next = end + 2;
    if (/^H?PUB$/i.test(words[0]!)) next += Number(words[words.length - 1]) + 2;
    if (next > buf.length) break;
    cmds.push(buf.slice(at, next));
    at = next;
  }
  return { cmds, rest: buf.slice(at) };
}

/**
 * Starts a proxy on a free loopback port to nats-server port `natsPort`.
 * The first time a client publishes on a subject matching `cut` (a
 * request: JetStream's API takes them), the proxy holds that publication
 * back and closes the connection, both ways, as an outage would; once the
 * client has connected again through the proxy and subscribed the inbox the
 * request's answer goes to, it sends the held publication on the new
 * connection, so the request is answered after the outage as if it had got
 * through just before it. Every other byte passes as it is.
 */
export function cutProxy(natsPort: number, cut: RegExp): CutProxy {
  const port = freePort();
  const listener = Deno.listen({ hostname: "127.0.0.1", port });
  const conns = new Set<Deno.Conn>();
  const pumps: Promise<void>[] = [];
  /** The publication held back at the cut, and its reply subject. */
  let held: { bytes: Uint8Array; reply: string } | undefined;
  let cutDone = false;
  let replayed = false;
  const writeAll = async (to: Deno.Conn, bytes: Uint8Array) => {
    for (let n = 0; n < bytes.length;) n += await to.write(bytes.subarray(n));
  };
  const close = (c: Deno.Conn) => {
    if (conns.delete(c)) c.close();
  };
  /** Server to client: as it is. */
  const down = async (server: Deno.Conn, client: Deno.Conn) => {
    const buf = new Uint8Array(64 * 1024);
    try {
      for (let n; (n = await server.read(buf)) !== null;) {
        await writeAll(client, buf.subarray(0, n));
      }
    } catch { /* closed */ }
    close(client);
    close(server);
  };
  /** Client to server, command by command: cut at the first matching publication, replay it later. */
  const up = async (client: Deno.Conn, server: Deno.Conn) => {
    const buf = new Uint8Array(64 * 1024);
    let pending: Uint8Array = new Uint8Array(0);
    try {
      for (let n; (n = await client.read(buf)) !== null;) {
        const joined = new Uint8Array(pending.length + n);
        joined.set(pending);
        joined.set(buf.subarray(0, n), pending.length);
        const { cmds, rest } = commands(joined);
        pending = rest;
        for (const cmd of cmds) {
          const words = dec.decode(cmd.subarray(0, lineEnd(cmd))).split(" ");
          const verb = words[0]!.toUpperCase();
          if (!cutDone && /^H?PUB$/.test(verb) && cut.test(words[1]!)) {
            cutDone = true;
            held = { bytes: cmd, reply: words[2]! };
            throw new Error("cut");
          }
          await writeAll(server, cmd);
          // The inbox the held request's answer goes to is subscribed again: replay it.
          const sub = verb === "SUB" ? words[1]! : "";
          const covers = sub === held?.reply ||
            (sub.endsWith(".*") && held?.reply.startsWith(sub.slice(0, -1)));
          if (held && covers) {
            const h = held;
            held = undefined;
            await writeAll(server, h.bytes);
            replayed = true;
          }
        }
      }
    } catch { /* closed, or cut */ }
    close(client);
    close(server);
  };
  const accepting = (async () => {
    try {
      for await (const client of listener) {
        let server: Deno.Conn;
        try {
          server = await Deno.connect({ hostname: "127.0.0.1", port: natsPort });
        } catch {
          client.close();
          continue;
        }
        conns.add(client);
        conns.add(server);
        pumps.push(up(client, server), down(server, client));
      }
    } catch { /* listener closed */ }
  })();
  return {
    url: `nats://127.0.0.1:${port}`,
    get replayed() {
      return replayed;
    },
    async [Symbol.asyncDispose]() {
      listener.close();
      await accepting;
      for (const c of [...conns]) close(c);
      await Promise.all(pumps);
    },
  };
}
