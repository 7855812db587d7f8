/** Shared setup for the broker integration tests: connectors as CLI subprocesses. */
import * as net from "node:net";
import { join } from "node:path";
import {
  type CliProcess,
  freePort,
  makePki,
  spawnCli,
  tempDir,
  type TestPki,
  waitUntil,
} from "./harness/mod.ts";
import {
  BrokerClient,
  decodePayload,
  encodePayload,
  type Frame,
  type Header,
} from "../core/broker/mod.ts";
import { connect, type Connection } from "../core/net/mod.ts";
import { loadClientTls } from "../core/pki/mod.ts";
import { encodeFrame, LengthPrefixedFramer } from "../core/net/framing/mod.ts";

/** The arguments every test connector takes: its certificates, state directory and a 1 s heartbeat. */
function connectorArgs(certs: string, dir: string): string[] {
  return ["--certs", certs, "--dir", dir, "--heartbeat", "1s"];
}

/** Starts `broker serve` on a fixed free port and waits until it listens (stopping it if it does not). */
export async function startServer(
  certs: string,
  dir: string,
  port: number,
  extra: string[] = [],
): Promise<CliProcess> {
  const p = spawnCli([
    "broker",
    "serve",
    "--host",
    "127.0.0.1",
    "--port",
    String(port),
    ...connectorArgs(certs, dir),
    ...extra,
  ]);
  try {
    await p.waitForLine(/INFO\s+listening /, 30_000);
  } catch (err) {
    await p[Symbol.asyncDispose]();
    throw err;
  }
  return p;
}

/** Starts `broker connect` for `name`. */
export function startClient(
  certs: string,
  dir: string,
  name: string,
  port: number,
  extra: string[] = [],
): CliProcess {
  return spawnCli([
    "broker",
    "connect",
    "--name",
    name,
    "--server",
    `127.0.0.1:${port}`,
    ...connectorArgs(certs, dir),
    ...extra,
  ]);
}

/** Waits for the client connector's "connected to server" line. */
export async function connected(client: CliProcess): Promise<void> {
  await client.waitForLine(/connected to server/, 30_000);
}

/** Connects an app to a connector's local socket, retrying until the socket is there. */
export async function app(dir: string): Promise<BrokerClient> {
  return await waitUntil(
    () => BrokerClient.connect(join(dir, "broker.sock")).catch(() => undefined),
    { timeoutMs: 20_000, intervalMs: 100 },
  );
}

/** A raw app on the local socket `sock`: frames written by hand, the headers it is sent collected. */
export async function rawApp(sock: string) {
  const raw = net.connect(sock);
  await new Promise((r) => raw.once("connect", r));
  const framer = new LengthPrefixedFramer({ maxFrameBytes: 1024 * 1024 });
  const answers: Header[] = [];
  raw.on(
    "data",
    (b: Uint8Array) => framer.push(b, (p) => void answers.push(decodePayload(p).header)),
  );
  return {
    answers,
    write: (h: Header) => void raw.write(encodeFrame(encodePayload(h))),
    [Symbol.dispose]: () => void raw.destroy(),
  };
}

/**
 * `sockkit broker COMMAND --dir DIR --type TYPE FLAGS...`: the command line
 * of an app command (`send`, `listen`, `request`) against the connector in `dir`.
 */
export function appArgs(
  command: "send" | "listen" | "request",
  dir: string,
  type: string,
  flags: string[] = [],
): string[] {
  return ["broker", command, "--dir", dir, "--type", type, ...flags];
}

/** Stops a connector with SIGTERM and resolves with its exit code. */
export async function stop(p: CliProcess): Promise<number> {
  p.kill("SIGTERM");
  return (await p.status).code;
}

/** A server connector and alice's client connector, connected (see {@linkcode BrokerSite.link}). */
export interface BrokerLink extends AsyncDisposable {
  server: CliProcess;
  client: CliProcess;
  /** Stops the client, then the server, with SIGTERM; resolves with their exit codes. */
  stop(): Promise<{ client: number; server: number }>;
}

/** Options for {@linkcode brokerSite}. */
export interface BrokerSiteOptions {
  /** Client certificates to issue (CN = name). Default `["alice"]`. */
  clients?: string[];
}

/**
 * A throwaway broker setup: a PKI, a temp directory, a free port, and the
 * state directories of the server connector (`ROOT/server`) and of alice
 * (`ROOT/alice`). Disposing it removes the PKI and the directory; dispose the
 * connectors first (declare them after it).
 */
export interface BrokerSite extends AsyncDisposable {
  pki: TestPki;
  /** The temp directory. */
  root: string;
  port: number;
  /** The server connector's state directory. */
  sdir: string;
  /** alice's state directory. */
  cdir: string;
  /** Starts `broker serve` on `sdir` and `port` and waits until it listens. */
  server(extra?: string[]): Promise<CliProcess>;
  /** Starts `broker connect` as alice on `cdir` (it does not wait for the link). */
  client(extra?: string[]): CliProcess;
  /** Starts both and waits until alice is connected. */
  link(serverExtra?: string[], clientExtra?: string[]): Promise<BrokerLink>;
}

/**
 * Makes a {@linkcode BrokerSite} under a temp directory named after `prefix`.
 *
 * @example
 * ```ts
 * await using site = await brokerSite("sockkit-broker-test-");
 * await using link = await site.link();
 * await using a = await app(site.cdir);
 * assert.deepEqual(await link.stop(), { client: 0, server: 0 });
 * ```
 */
export async function brokerSite(
  prefix: string,
  options: BrokerSiteOptions = {},
): Promise<BrokerSite> {
  const pki = await makePki({ clients: options.clients ?? ["alice"] });
  const tmp = await tempDir(prefix);
  const port = freePort();
  const sdir = join(tmp.path, "server");
  const cdir = join(tmp.path, "alice");
  const site: BrokerSite = {
    pki,
    root: tmp.path,
    port,
    sdir,
    cdir,
    server: (extra = []) => startServer(pki.dir, sdir, port, extra),
    client: (extra = []) => startClient(pki.dir, cdir, "alice", port, extra),
    async link(serverExtra = [], clientExtra = []) {
      const server = await site.server(serverExtra);
      const client = site.client(clientExtra);
      const link: BrokerLink = {
        server,
        client,
        stop: async () => ({ client: await stop(client), server: await stop(server) }),
        async [Symbol.asyncDispose]() {
          await client[Symbol.asyncDispose]();
          await server[Symbol.asyncDispose]();
        },
      };
      try {
        await connected(client);
      } catch (err) {
        await link[Symbol.asyncDispose]();
        throw err;
      }
      return link;
    },
    async [Symbol.asyncDispose]() {
      await tmp[Symbol.asyncDispose]();
      await pki[Symbol.asyncDispose]();
    },
  };
  return site;
}

export { freePort };
/** A raw peer: a valid client certificate, frames written and read by hand. */
export class RawPeer implements AsyncDisposable {
  readonly frames: Frame[] = [];
  readonly name: string;
  readonly #conn: Connection;
  #closed = false;
  readonly closed: Promise<void>;

  private constructor(name: string, conn: Connection) {
    this.name = name;
    this.#conn = conn;
    const framer = new LengthPrefixedFramer({ maxFrameBytes: 16 * 1024 * 1024 });
    conn.receive({
      data: (chunk) =>
        framer.push(chunk, (p) => {
          const f = decodePayload(p);
          // a live peer answers heartbeats, so only what a test makes it skip is missing
          if (f.header.kind === "ping") this.send({ kind: "pong", id: f.header.id, t: f.header.t });
          this.frames.push({ header: f.header, data: f.data.slice(), binary: f.binary.slice() });
        }),
    });
    this.closed = conn.closed;
    this.closed.then(() => this.#closed = true);
  }

  /** Connects with `name`'s certificate and completes the handshake. */
  static async connect(pki: TestPki, port: number, name: string): Promise<RawPeer> {
    const tls = await loadClientTls({ ca: pki.paths.ca, ...pki.client(name) });
    const conn = await connect({
      host: "127.0.0.1",
      port,
      tls: { ...tls, servername: "localhost" },
    });
    const p = new RawPeer(name, conn);
    p.send({ kind: "hello", name, v: 1 });
    await p.next((h) => h.kind === "welcome");
    return p;
  }

  /**
   * A raw server connector `name` on a connection it accepted: it answers
   * the client's `hello` with `welcome` and then, like the client side,
   * records every frame and answers heartbeats (and acknowledges nothing).
   */
  static accepted(conn: Connection, name = "server"): RawPeer {
    const p = new RawPeer(name, conn);
    p.next((h) => h.kind === "hello").then(
      () => p.send({ kind: "welcome", name, v: 1 }),
      () => {},
    );
    return p;
  }

  /** Stops reading (TCP flow control pushes back on the server). */
  pause(): void {
    this.#conn.pause();
  }

  get isClosed(): boolean {
    return this.#closed;
  }

  send(header: Header, data = "", binary = new Uint8Array(0)): void {
    this.#conn.send(encodeFrame(encodePayload(header, data, binary)));
  }

  msg(id: string, type: string, data: string, extra: Record<string, unknown> = {}): void {
    this.send(
      { kind: "msg", type, src: this.name, dst: "server", id, enc: "text", ...extra },
      data,
    );
  }

  async next(match: (h: Header) => boolean, timeoutMs = 20_000): Promise<Frame> {
    return await waitUntil(() => this.frames.find((f) => match(f.header)), { timeoutMs });
  }

  all(kind: string): Frame[] {
    return this.frames.filter((f) => f.header.kind === kind);
  }

  /** The last cumulative acknowledgement. */
  get acked(): number {
    const a = this.all("acks").at(-1)?.header as { n: number } | undefined;
    return a?.n ?? 0;
  }

  async close(): Promise<void> {
    this.#conn.destroy();
    await this.closed;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
