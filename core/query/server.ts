/**
 * The query server: data store + handler pool + TCP and/or UDP listeners on
 * one port number.
 */
import type { DatagramBackend, Server, TlsMaterial } from "../net/mod.ts";
import { type Logger, nullLogger } from "../log/mod.ts";
import { type DaemonMetrics, NetMetrics, type Readiness } from "../metrics/mod.ts";
import { Answerer } from "./answerer.ts";
import type { DropReason } from "./_udp_guard.ts";
import { queryMetrics } from "./query_metrics.ts";
import type { KeyPair } from "./crypto.ts";
import { DataStore } from "./data_store.ts";
import { HandlerPool } from "./handler_pool.ts";
import type { DataSpec } from "./spec.ts";
import { serveTcp } from "./tcp_server.ts";
import { UdpServer } from "./udp_server.ts";

/** Options for {@linkcode startQueryServer}. */
export interface QueryServerOptions {
  /** The data files (see `loadDataSpec`). */
  spec: DataSpec;
  /** Path of the handler module (default export `(query, data) => reply`). */
  handler: string;
  /** Address to bind. Default `"0.0.0.0"`. */
  host?: string;
  /** Port for TCP and UDP; `0` picks a free one. Default 9000. */
  port?: number;
  /** Serve TCP. Default `true`. */
  tcp?: boolean;
  /** Serve UDP. Default `true`. */
  udp?: boolean;
  /** TLS for the TCP side. Default: plain TCP. */
  tls?: TlsMaterial;
  /** Key pair for encryption `E`. Default: encrypted queries are refused. */
  key?: KeyPair;
  /** Handler time limit, ms. Default 1000. */
  handlerTimeoutMs?: number;
  /** Heap cap of each handler worker, MiB. Default 256. */
  handlerMemoryMb?: number;
  /** Handler workers. Default 2. */
  workers?: number;
  /** UDP socket implementation. Default: the datagram seam's. */
  udpBackend?: DatagramBackend;
  /** Largest UDP reply in bytes. Default 65507. */
  maxDatagramBytes?: number;
  /** Largest TCP request in bytes. Default 1 MiB. */
  maxRequestBytes?: number;
  /** TCP: connections at once from one IP address (loopback exempt); 0 = no cap. Default 64. */
  maxPerAddress?: number;
  /**
   * IPv6 clients count by their first this many bits against `maxPerAddress`
   * (TCP) and the two per-source UDP limits. Default 64.
   */
  ipv6Prefix?: number;
  /** UDP: replies a second to one remote (not loopback) source address; 0 = no limit. Default 2000. */
  udpRepliesPerSource?: number;
  /** UDP: reply bytes a second to one remote (not loopback) source address; 0 = no limit. Default 1 MiB. */
  udpReplyBytesPerSource?: number;
  /** TCP: close after this many ms without progress either way, ms. Default 10000. */
  idleTimeoutMs?: number;
  /** Debounce for data file changes, ms. Default 50. */
  debounceMs?: number;
  /** Minimum interval between stat checks of the data files, ms. Default 500. */
  checkIntervalMs?: number;
  /** How long `close()` waits for queries in progress, ms. Default 5000. */
  graceMs?: number;
  /** Logger. Default: silent. */
  logger?: Logger;
  /** Registers the query and network series here. Default: none. */
  daemonMetrics?: DaemonMetrics;
}

/** A running query server. */
export interface QueryServer extends AsyncDisposable {
  /** The TCP port, when TCP is served. */
  readonly tcpPort: number | undefined;
  /** The UDP port, when UDP is served. */
  readonly udpPort: number | undefined;
  /** The data store (current data, reload notifications). */
  readonly data: DataStore;
  /** The handler pool. */
  readonly pool: HandlerPool;
  /** The TCP listener, when TCP is served (for reloading its TLS certificates). */
  readonly tcp: Server | undefined;
  /** Ready while the data is loaded and a handler worker runs. */
  ready(): Readiness;
  /** Stops listening, finishes queries in progress, stops the workers. Idempotent. */
  close(): Promise<void>;
}

async function bindBoth(
  answerer: Answerer,
  o: QueryServerOptions,
  log: Logger,
  net: NetMetrics | undefined,
  onDrop: ((reason: DropReason) => void) | undefined,
): Promise<{ tcp: Server | undefined; udp: UdpServer | undefined }> {
  const port = o.port ?? 9000;
  const common = {
    ...(o.host !== undefined ? { host: o.host } : {}),
    ...(o.graceMs !== undefined ? { graceMs: o.graceMs } : {}),
    logger: log,
  };
  const wantTcp = o.tcp ?? true;
  const wantUdp = o.udp ?? true;
  // With port 0 the TCP port is picked first and UDP binds the same number;
  // retry a few times in the rare case that UDP port is taken.
  for (let attempt = 0;; attempt++) {
    const tcp = wantTcp
      ? await serveTcp(answerer, {
        ...common,
        port,
        ...(o.tls !== undefined ? { tls: o.tls } : {}),
        ...(o.maxRequestBytes !== undefined ? { maxRequestBytes: o.maxRequestBytes } : {}),
        ...(o.maxPerAddress !== undefined ? { maxPerAddress: o.maxPerAddress } : {}),
        ...(o.ipv6Prefix !== undefined ? { ipv6Prefix: o.ipv6Prefix } : {}),
        ...(net ? { net } : {}),
        ...(o.idleTimeoutMs !== undefined ? { idleTimeoutMs: o.idleTimeoutMs } : {}),
      })
      : undefined;
    try {
      const udp = wantUdp
        ? await UdpServer.bind(answerer, {
          ...common,
          port: tcp ? tcp.port : port,
          ...(o.udpBackend !== undefined ? { backend: o.udpBackend } : {}),
          ...(onDrop ? { onDrop } : {}),
          ...(o.ipv6Prefix !== undefined ? { ipv6Prefix: o.ipv6Prefix } : {}),
          ...(o.udpRepliesPerSource !== undefined
            ? {
              remoteReplies: o.udpRepliesPerSource === 0
                ? false as const
                : { perWindow: o.udpRepliesPerSource },
            }
            : {}),
          ...(o.udpReplyBytesPerSource !== undefined
            ? {
              remoteReplyBytes: o.udpReplyBytesPerSource === 0
                ? false as const
                : { perWindow: o.udpReplyBytesPerSource },
            }
            : {}),
        })
        : undefined;
      return { tcp, udp };
    } catch (err) {
      await tcp?.close();
      if (port !== 0 || attempt >= 5) throw err;
    }
  }
}

/**
 * Loads the data, starts the handler workers and listens on TCP and UDP.
 * Rejects with a clear error when a data file or the handler cannot be
 * loaded, or the port cannot be bound.
 *
 * @example
 * ```ts
 * await using server = await startQueryServer({
 *   spec: await loadDataSpec("fixtures/query/spec.json"),
 *   handler: "fixtures/query/handler.ts",
 *   port: 0,
 * });
 * console.log(server.tcpPort, server.udpPort);
 * ```
 */
export async function startQueryServer(options: QueryServerOptions): Promise<QueryServer> {
  if (options.tcp === false && options.udp === false) {
    throw new TypeError("Nothing to serve: both TCP and UDP are turned off");
  }
  const log = options.logger ?? nullLogger;
  const data = new DataStore(options.spec, {
    logger: log,
    ...(options.debounceMs !== undefined ? { debounceMs: options.debounceMs } : {}),
    ...(options.checkIntervalMs !== undefined ? { checkIntervalMs: options.checkIntervalMs } : {}),
  });
  const pool = new HandlerPool(options.handler, {
    logger: log,
    ...(options.workers !== undefined ? { size: options.workers } : {}),
    ...(options.handlerTimeoutMs !== undefined ? { timeoutMs: options.handlerTimeoutMs } : {}),
    ...(options.handlerMemoryMb !== undefined ? { memoryMb: options.handlerMemoryMb } : {}),
  });
  try {
    await data.start();
    await pool.start({ ...data.data });
  } catch (err) {
    await pool.close();
    await data.close();
    throw err;
  }
  data.onChange((name, d) => pool.setData(name, d));
  const m = options.daemonMetrics;
  const qm = m ? queryMetrics(m) : undefined;
  const net = m ? new NetMetrics(m, { framesIn: qm!.count, framesOut: qm!.count }) : undefined;
  const submit: HandlerPool["submit"] = (r, p, done) => pool.submit(r, p, done);
  const answerer = new Answerer({
    submit: qm ? qm.wrapSubmit(submit) : submit,
    ...(qm ? { onRequest: qm.request } : {}),
    beforeQuery: () => data.check(),
    logger: log,
    ...(options.key !== undefined ? { key: options.key } : {}),
    ...(options.maxDatagramBytes !== undefined
      ? { maxDatagramBytes: options.maxDatagramBytes }
      : {}),
  });
  let bound: Awaited<ReturnType<typeof bindBoth>>;
  try {
    bound = await bindBoth(answerer, options, log, net, qm?.dropped);
  } catch (err) {
    await pool.close();
    await data.close();
    throw err;
  }
  const { tcp, udp } = bound;
  let closing: Promise<void> | undefined;
  const close = () =>
    closing ??= (async () => {
      await Promise.all([tcp?.close(), udp?.close()]);
      await pool.close();
      answerer.close();
      await data.close();
    })();
  return {
    tcpPort: tcp?.port,
    udpPort: udp?.port,
    data,
    pool,
    tcp,
    ready: () => {
      if (closing) return { ready: false, detail: "shutting down" };
      if (pool.workers === 0) return { ready: false, detail: "no handler worker running" };
      return {
        ready: true,
        detail: `${options.spec.files.length} data files loaded, ${pool.workers} handler workers`,
      };
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}
