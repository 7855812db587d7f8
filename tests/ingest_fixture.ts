/**
 * Shared setup for the ingest integration tests: a real redis-server, a
 * throwaway PKI (clients alice and bob), and the ingest server in-process
 * over real mutual TLS.
 */
import {
  type IngestOptions,
  type IngestServer,
  sendObjects,
  startIngest,
} from "../core/ingest/mod.ts";
import type { SendResult } from "../core/ingest/mod.ts";
import { loadClientTls, loadServerTls, revocationCheck } from "../core/pki/mod.ts";
import { type ClientTlsOptions, connect, type Connection } from "../core/net/mod.ts";
import { LineFramer } from "../core/net/framing/mod.ts";
import { makePki, startRedis, type TestPki, type TestRedis } from "./harness/mod.ts";

/** Whether `python3` with its `ssl` module runs here (the Python client tests are skipped otherwise). */
export const hasPythonSsl: boolean = await new Deno.Command("python3", {
  args: ["-c", "import ssl"],
}).output().then((o) => o.success, () => false);

/** What a Python client run printed. */
export interface PythonRun {
  code: number;
  stdout: string;
  stderr: string;
}

export interface IngestFixture extends AsyncDisposable {
  redis: TestRedis;
  pki: TestPki;
  server: IngestServer;
  spoolDir: string;
  clientTls(name?: string): Promise<ClientTlsOptions>;
  send(objects: unknown[], opts?: { client?: string; ack?: boolean }): Promise<SendResult>;
  /** A raw mutual-TLS connection for hand-made byte streams. */
  connect(client?: string): Promise<Connection>;
  /** Runs `python3 script 127.0.0.1 PORT CA CERT KEY ...args` with `client`'s certificate. */
  python(script: string, client: string, args: string[]): Promise<PythonRun>;
}

/** Collects `{"ok":N}` / `{"error":...}` lines a connection receives. */
export function collectLines(conn: Connection): { lines: string[]; lastOk(): number } {
  const lines: string[] = [];
  const framer = new LineFramer({ maxLineBytes: 1 << 20 });
  const dec = new TextDecoder();
  conn.receive({ data: (chunk) => framer.push(chunk, (line) => lines.push(dec.decode(line))) });
  return {
    lines,
    lastOk() {
      let n = -1;
      for (const l of lines) {
        const m = /^\{"ok":(\d+)(?:,"spooled":\d+)?\}$/.exec(l);
        if (m) n = Math.max(n, Number(m[1]));
      }
      return n;
    },
  };
}

export interface FixtureOptions extends Partial<Omit<IngestOptions, "tls">> {
  redisArgs?: string[];
  clients?: string[];
}

export async function ingestFixture(options: FixtureOptions = {}): Promise<IngestFixture> {
  const { redisArgs, clients, ...rest } = options;
  const redis = await startRedis(redisArgs ? { args: redisArgs } : {});
  const pki = await makePki({ clients: clients ?? ["alice", "bob"] });
  const spoolDir = await Deno.makeTempDir({ prefix: "sockkit-spool-" });
  let server: IngestServer;
  try {
    const tls = await loadServerTls({
      cert: pki.paths.serverCert,
      key: pki.paths.serverKey,
      clientCerts: pki.paths.allowList,
    });
    server = await startIngest({
      host: "127.0.0.1",
      port: 0,
      tls,
      authorize: revocationCheck(pki.paths.revoked),
      redisUrl: redis.url,
      spoolDir,
      ack: true,
      ...rest,
    });
  } catch (err) {
    await pki.close();
    await redis[Symbol.asyncDispose]();
    throw err;
  }
  const clientTls = (name = "alice") => loadClientTls({ ca: pki.paths.ca, ...pki.client(name) });
  return {
    redis,
    pki,
    server,
    spoolDir,
    clientTls,
    async send(objects, opts = {}) {
      return sendObjects(objects, {
        host: "127.0.0.1",
        port: server.port,
        tls: await clientTls(opts.client),
        ack: opts.ack ?? rest.ack ?? true,
      });
    },
    async connect(client = "alice") {
      return connect({ host: "127.0.0.1", port: server.port, tls: await clientTls(client) });
    },
    async python(script, client, args) {
      const { cert, key } = pki.client(client);
      const out = await new Deno.Command("python3", {
        args: [script, "127.0.0.1", String(server.port), pki.paths.ca, cert, key, ...args],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const dec = new TextDecoder();
      return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
    },
    async [Symbol.asyncDispose]() {
      await server.close();
      await redis[Symbol.asyncDispose]();
      await pki.close();
      await Deno.remove(spoolDir, { recursive: true }).catch(() => {});
    },
  };
}
