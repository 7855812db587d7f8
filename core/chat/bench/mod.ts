import { type ClientTlsOptions, connect, type Connection } from "../../net/mod.ts";
import { LineFramer } from "../../net/framing/mod.ts";
import type { BenchServer } from "./bench_server.ts";
import { delay } from "../../async/mod.ts";
import { errorText } from "../../log/mod.ts";

/** Options for {@linkcode runChatBench}. */
export interface ChatBenchOptions {
  /** Server host. */
  host: string;
  /** Server port. */
  port: number;
  /** Client TLS settings (the server's CA). */
  tls: ClientTlsOptions;
  /** Concurrent clients to open and hold. */
  clients: number;
  /** The server's broadcast period, ms (to bound the waits). */
  periodMs: number;
  /** TLS handshakes in flight at once. Default 64. */
  concurrency?: number;
  /** A server started by the bench: gives broadcast start times and memory. Default none (`--target`). */
  server?: BenchServer;
  /** Broadcast rounds to time once all clients are connected. Default 3. */
  rounds?: number;
  /** Clients that send lines for the reverse-echo throughput. Default 16. */
  echoClients?: number;
  /** How long the echo phase sends, ms. Default 2000. */
  echoMs?: number;
  /** Stop opening clients after this many ms. Default 120000. */
  connectBudgetMs?: number;
  /** Progress notes for the user. */
  onProgress?: (message: string) => void;
  /** Ends the connect phase early. */
  signal?: AbortSignal;
}

/** What {@linkcode runChatBench} measured. */
export interface ChatBenchResult {
  /** Clients asked for. */
  requested: number;
  /** Clients connected and still open at the end of the broadcast rounds. */
  held: number;
  /** Connection attempts that failed. */
  failed: number;
  /** The first failure, if any. */
  firstError?: string;
  /** Time to open all clients, ms. */
  connectMs: number;
  /** Broadcast start (server log) to the last client receiving the date, ms, per round. */
  broadcastMs: number[];
  /** First to last client receiving the same date, ms, per round. */
  spreadMs: number[];
  /** Server write loop duration per round, ms (server log). */
  serverWriteMs: number[];
  /** Clients that did not receive a round's date in time (summed over rounds). */
  missed: number;
  /** Server RSS with one client, bytes. */
  rssBase?: number;
  /** Server RSS with all clients held, bytes. */
  rssHeld?: number;
  /** Server heap in use with one client, bytes. */
  heapBase?: number;
  /** Server heap in use with all clients held, bytes. */
  heapHeld?: number;
  /** Reverse-echo replies received per second. */
  linesPerSec: number;
  /** Reverse-echo replies received in total. */
  echoLines: number;
}

const now = () => performance.timeOrigin + performance.now();

/**
 * The servercli benchmark's client side: opens `clients` TLS connections
 * with bounded concurrency and holds them, times date broadcasts from the
 * server's start (or, against a `--target`, from the first client's
 * receipt) to the last client's receipt, reads the server's memory, and
 * measures reverse-echo throughput with a few pipelining clients while the
 * rest stay connected.
 */
export async function runChatBench(options: ChatBenchOptions): Promise<ChatBenchResult> {
  const progress = options.onProgress ?? (() => {});
  const server = options.server;
  const n = options.clients;
  const recvAt = new Float64Array(n);
  const conns: Connection[] = [];
  let open = 0;
  let failed = 0;
  let firstError: string | undefined;
  const result: ChatBenchResult = {
    requested: n,
    held: 0,
    failed: 0,
    connectMs: 0,
    broadcastMs: [],
    spreadMs: [],
    serverWriteMs: [],
    missed: 0,
    linesPerSec: 0,
    echoLines: 0,
  };

  const add = (conn: Connection) => {
    const id = conns.length;
    conns.push(conn);
    open++;
    conn.receive({ data: () => recvAt[id] = now(), end: () => {} });
    conn.closed.then(() => open--);
  };
  const open1 = () =>
    connect({ host: options.host, port: options.port, tls: options.tls, timeoutMs: 30_000 });

  try {
    if (server) {
      add(await open1());
      const seen = server.broadcasts.length;
      await server.waitFor(
        () => server.broadcasts.length > seen,
        options.periodMs * 3 + 5000,
        "the first broadcast",
      );
      const base = server.broadcasts[server.broadcasts.length - 1]!;
      result.heapBase = base.heapUsed;
      result.rssBase = base.rss;
    }

    // Connect phase: bounded concurrency, bounded time.
    const start = performance.now();
    const budget = options.connectBudgetMs ?? 120_000;
    let next = conns.length;
    let consecutiveFailures = 0;
    let lastReport = start;
    const worker = async () => {
      while (
        next < n && performance.now() - start < budget && !options.signal?.aborted &&
        consecutiveFailures < 200
      ) {
        next++;
        try {
          add(await open1());
          consecutiveFailures = 0;
        } catch (err) {
          failed++;
          consecutiveFailures++;
          firstError ??= errorText(err);
        }
        if (performance.now() - lastReport > 2000) {
          lastReport = performance.now();
          progress(`${conns.length} clients connected (${failed} failed)`);
        }
      }
    };
    await Promise.all(Array.from({ length: options.concurrency ?? 64 }, worker));
    result.connectMs = performance.now() - start;
    progress(
      `${conns.length} of ${n} clients connected in ${(result.connectMs / 1000).toFixed(1)} s` +
        (failed ? ` (${failed} failed: ${firstError})` : ""),
    );

    // Broadcast rounds.
    const alive = () => conns.map((c, i) => c.isClosed ? -1 : i).filter((i) => i >= 0);
    for (let r = 0; r < (options.rounds ?? 3) && conns.length > 0; r++) {
      const ids = alive();
      let startAt: number;
      if (server) {
        const seen = server.broadcasts.length;
        await server.waitFor(
          () => server.broadcasts.length > seen,
          options.periodMs * 3 + 10_000,
          "a broadcast",
        );
        const rec = server.broadcasts[seen]!;
        startAt = rec.at;
        result.serverWriteMs.push(rec.writeMs);
        result.heapHeld = rec.heapUsed;
        result.rssHeld = rec.rss;
      } else {
        startAt = now();
      }
      const limit = performance.now() + options.periodMs * 2 + 5000;
      let got = 0;
      while (performance.now() < limit) {
        got = 0;
        for (const i of ids) if (recvAt[i]! >= startAt) got++;
        if (got === ids.length) break;
        await delay(5);
      }
      let first = Infinity;
      let last = 0;
      for (const i of ids) {
        const t = recvAt[i]!;
        if (t < startAt) continue;
        if (t < first) first = t;
        if (t > last) last = t;
      }
      result.missed += ids.length - got;
      if (got > 0) {
        result.spreadMs.push(last - first);
        result.broadcastMs.push(server ? last - startAt : last - first);
      }
      progress(
        `broadcast round ${r + 1}: ${got} of ${ids.length} clients got the date, last after ${
          (server ? last - startAt : last - first).toFixed(1)
        } ms`,
      );
    }
    result.held = open;

    // Reverse-echo throughput.
    const echo = await echoPhase(
      alive().slice(0, options.echoClients ?? 16).map((i) => conns[i]!),
      options.echoMs ?? 2000,
    );
    result.echoLines = echo.lines;
    result.linesPerSec = echo.lines / (echo.ms / 1000);
    progress(`reverse echo: ${echo.lines} lines in ${echo.ms.toFixed(0)} ms`);
  } finally {
    result.failed = failed;
    if (firstError !== undefined) result.firstError = firstError;
    for (const c of conns) c.destroy();
    await Promise.allSettled(conns.map((c) => c.closed));
  }
  return result;
}

const ECHO_LINE = "0123456789 the quick brown fox jumps over the lazy dog!";
const BATCH = 100;

/** Each client keeps two batches of lines in flight for `ms`, then waits for the rest. */
async function echoPhase(
  clients: Connection[],
  ms: number,
): Promise<{ lines: number; ms: number }> {
  if (clients.length === 0) return { lines: 0, ms: 1 };
  const batch = (ECHO_LINE + "\n").repeat(BATCH);
  const start = performance.now();
  const stopAt = start + ms;
  let lines = 0;
  let lastReply = start;
  const runs = clients.map((conn) =>
    new Promise<void>((resolve) => {
      const framer = new LineFramer({ maxLineBytes: 4096 });
      let sent = 0;
      let received = 0;
      const send = () => {
        sent += BATCH;
        conn.send(batch);
      };
      const finish = () => {
        conn.receive({ data: () => {}, end: () => {} });
        clearTimeout(guard);
        resolve();
      };
      const onData = (chunk: Uint8Array) => {
        framer.push(chunk, (line) => {
          if (line[0] !== 0x21) return; // "!": a reply, not a date
          received++;
          lines++;
        });
        lastReply = performance.now();
        if (lastReply < stopAt) {
          while (sent - received < 2 * BATCH) send();
        } else if (received >= sent) finish();
      };
      const guard = setTimeout(finish, ms + 5000);
      conn.receive({ data: onData, end: () => {} });
      send();
      send();
    })
  );
  await Promise.all(runs);
  return { lines, ms: lastReply - start };
}

export { type BenchServer, spawnBenchServer } from "./bench_server.ts";
