import type { Logger } from "../log/mod.ts";
import { type Connection, listenNow, type Server } from "../net/mod.ts";
import type { ReadinessCheck } from "./readiness.ts";
import type { DaemonMetrics } from "./registry.ts";
import { findHead, formatReply, parseHead, type Reply } from "./_http1.ts";

/** Options for {@linkcode serveMetrics}. */
export interface ServeMetricsOptions {
  /** Port; `0` picks a free one. */
  port: number;
  /** Address to bind. Default `"127.0.0.1"` (metrics are not for the world). */
  host?: string;
  /** Answers `/readyz`. Default: always ready. */
  ready?: ReadinessCheck;
  /** Logger for the endpoint's accept trouble (out of descriptors) and refusals. Default: silent. */
  logger?: Logger;
  /** Most scrapes at once; one more connection is closed at once. Default 16. */
  maxConnections?: number;
  /** A request head (request line and headers) larger than this is answered 431. Default 8192. */
  maxHeaderBytes?: number;
  /** A connection that has not sent its whole request head within this many ms is closed. Default 10000. */
  headerTimeoutMs?: number;
}

/** A running metrics and health endpoint. */
export interface MetricsServer extends AsyncDisposable {
  /** The bound port. */
  readonly port: number;
  /** The bound address. */
  readonly host: string;
  /** Stops serving. Idempotent. */
  close(): Promise<void>;
}

const TEXT = "text/plain; charset=utf-8";

/**
 * Serves a daemon's metrics and health over HTTP/1.1 on a core/net listener
 * (whose accept loop backs off when descriptors run out instead of dying):
 * `GET /metrics` is Prometheus text, `/healthz` answers 200 while the process
 * is up, `/readyz` 200 when `ready()` says it can serve and 503 (with the
 * reason) when not. Anything else is 404 naming the three paths; methods
 * other than GET and HEAD are 405. One request per connection
 * (`Connection: close`), at most `maxConnections` at once, each closed when
 * its request head is not in within `headerTimeoutMs` (431 past
 * `maxHeaderBytes`).
 *
 * @example
 * ```ts
 * await using http = serveMetrics(metrics, { port: 9191, ready: () => ({ ready: true, detail: "ok" }) });
 * ```
 */
export function serveMetrics(metrics: DaemonMetrics, options: ServeMetricsOptions): MetricsServer {
  const host = options.host ?? "127.0.0.1";
  const maxHeaderBytes = options.maxHeaderBytes ?? 8192;
  const headerTimeoutMs = options.headerTimeoutMs ?? 10_000;
  let server: Server;
  try {
    server = listenNow({
      host,
      port: options.port,
      maxConnections: options.maxConnections ?? 16,
      graceMs: 1000,
      ...(options.logger ? { logger: options.logger } : {}),
    }, (conn, signal) =>
      serveOne(conn, signal, {
        maxHeaderBytes,
        headerTimeoutMs,
        answer: (method, path) => answer(method, path, metrics, options.ready),
      }));
  } catch (err) {
    const cause = err instanceof Error && err.cause !== undefined ? err.cause : err;
    const why = cause instanceof Deno.errors.AddrInUse
      ? "address already in use (pick another --metrics-port)"
      : cause instanceof Error
      ? cause.message
      : String(cause);
    throw new Error(`Cannot serve metrics on ${host}:${options.port}: ${why}`, { cause });
  }
  const close = () => server.close();
  return { port: server.port, host, close, [Symbol.asyncDispose]: close };
}

interface OneRequest {
  maxHeaderBytes: number;
  headerTimeoutMs: number;
  answer: (method: string, path: string) => Promise<Reply>;
}

/** Reads one request head from `conn` (within the bounds), answers it and closes. */
async function serveOne(conn: Connection, signal: AbortSignal, o: OneRequest): Promise<void> {
  const timer = setTimeout(
    () => conn.destroy(`no complete request head within ${o.headerTimeoutMs} ms (header timeout)`),
    o.headerTimeoutMs,
  );
  const stop = () => conn.destroy("the metrics endpoint is closing");
  signal.addEventListener("abort", stop, { once: true });
  try {
    const head = await readHead(conn, o.maxHeaderBytes);
    clearTimeout(timer);
    if (head === undefined) return; // closed before a whole head came
    let reply: Reply;
    let withBody = true;
    if (head === "too-large") {
      reply = {
        status: 431,
        contentType: TEXT,
        body: `Request header fields too large: over the ${o.maxHeaderBytes} byte limit\n`,
      };
    } else {
      try {
        const req = parseHead(head);
        withBody = req.method !== "HEAD";
        reply = await o.answer(req.method, req.path);
      } catch (err) {
        if (!(err instanceof SyntaxError)) throw err;
        reply = { status: 400, contentType: TEXT, body: `Bad request: ${err.message}\n` };
      }
    }
    await conn.end(formatReply(reply, withBody));
  } finally {
    clearTimeout(timer);
    signal.removeEventListener("abort", stop);
  }
}

/** The request head's text, `"too-large"` past `maxBytes`, or `undefined` when the peer closed first. */
function readHead(conn: Connection, maxBytes: number): Promise<string | "too-large" | undefined> {
  return new Promise((resolve) => {
    let buf = new Uint8Array(0);
    let done = false;
    const finish = (v: string | "too-large" | undefined) => {
      if (done) return;
      done = true;
      conn.pause();
      resolve(v);
    };
    conn.closed.then(() => finish(undefined));
    conn.receive({
      data(chunk) {
        if (done) return;
        const next = new Uint8Array(buf.length + chunk.length);
        next.set(buf);
        next.set(chunk, buf.length);
        buf = next.length > maxBytes ? next.subarray(0, maxBytes) : next;
        const scan = findHead(buf, maxBytes);
        if (scan.kind === "head") finish(scan.text);
        else if (scan.kind === "too-large") finish("too-large");
      },
      end: () => finish(undefined),
    });
  });
}

async function answer(
  method: string,
  path: string,
  metrics: DaemonMetrics,
  ready: ReadinessCheck | undefined,
): Promise<Reply> {
  if (method !== "GET" && method !== "HEAD") {
    return {
      status: 405,
      contentType: TEXT,
      body: "Method not allowed: use GET\n",
      headers: { allow: "GET, HEAD" },
    };
  }
  switch (path) {
    case "/metrics":
      return { status: 200, contentType: metrics.contentType, body: await metrics.render() };
    case "/healthz":
      return { status: 200, contentType: TEXT, body: "ok\n" };
    case "/readyz": {
      let r;
      try {
        r = ready ? await ready() : { ready: true, detail: "serving" };
      } catch (err) {
        r = { ready: false, detail: `readiness check failed: ${(err as Error).message}` };
      }
      return {
        status: r.ready ? 200 : 503,
        contentType: TEXT,
        body: `${r.ready ? "ready" : "not ready"}: ${r.detail}\n`,
      };
    }
    default:
      return {
        status: 404,
        contentType: TEXT,
        body: "Not found: try /metrics, /healthz or /readyz\n",
      };
  }
}
