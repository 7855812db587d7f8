import type { PubSubRule } from "./pubsub.ts";
import { certPaths, loadCertsDirTls, loadClientTls, revocationCheck, revoke } from "../pki/mod.ts";
import type { ClusterNode } from "./cluster/node.ts";
import { type Logger, nullLogger } from "../log/mod.ts";
import { applyTls, serialized } from "../lifecycle/mod.ts";
import { Connector } from "./connector.ts";
import type { ConnectorOptions } from "./options.ts";
import type { FilterLists } from "./client_filter.ts";

/** Connector options a service sets itself (from the certificates directory). */
type Settable = Omit<ConnectorOptions, "server" | "client" | "revoke" | "reload">;

/** Options for {@linkcode startServerConnector}. */
export interface ServerConnectorOptions extends Settable {
  /** Address to bind. */
  host: string;
  /** TCP port (0 = any free port). */
  port: number;
  /** Who may publish, subscribe and send client-to-client. Default: any authenticated client. */
  pubsubRule?: PubSubRule | undefined;
  /** Allow and deny lists of client names, addresses and subnets. Default: admit every valid certificate. */
  clientFilter?: Partial<FilterLists>;
  /** The cluster this server joins (closed by the caller after the connector). Default: none. */
  cluster?: ClusterNode | undefined;
  /** Connections at once from one IP address (loopback exempt); 0 = no cap. Default 64. */
  maxPerAddress?: number | undefined;
  /** IPv6 addresses count against `maxPerAddress` by their first this many bits. Default 64. */
  ipv6Prefix?: number | undefined;
}

/** Options for {@linkcode startClientConnector}. */
export interface ClientConnectorOptions extends Settable {
  /** The server connector's host and port. */
  server: { host: string; port: number };
  /** More servers of the same cluster, tried in order when the one before cannot be reached. Default none. */
  fallbacks?: Array<{ host: string; port: number }> | undefined;
  /** The server connector's name (destination of messages). Default `"server"`. */
  serverName?: string | undefined;
  /** Name to verify in the server certificate. Default `"localhost"`. */
  servername?: string | undefined;
  /** Client certificate file. Default `CERTS/clients/NAME.pem`. */
  cert?: string | undefined;
  /** Client key file. Default `CERTS/clients/NAME.key`. */
  key?: string | undefined;
  /** CA that signed the server certificate. Default `CERTS/ca.pem`. */
  ca?: string | undefined;
}

/** Options for {@linkcode runConnector}. */
export interface RunConnectorOptions {
  /** Aborts (SIGINT/SIGTERM) to drain and stop the connector. */
  signal: AbortSignal;
  logger?: Logger;
}

/**
 * Starts the server connector with the certificates of `certsDir` (as laid
 * out by `sockkit certs init`): the server certificate, the client
 * allow-list, the revocation list checked on every connection, revocation
 * through the local API (`revoke`), and `reload` (local API and SIGHUP):
 * the directory's certificate, key and allow-list are read again for new
 * links, and linked clients whose certificate is now revoked are dropped.
 */
export async function startServerConnector(
  certsDir: string,
  options: ServerConnectorOptions,
): Promise<Connector> {
  const { host, port, pubsubRule, clientFilter, cluster, maxPerAddress, ipv6Prefix, ...rest } =
    options;
  const p = certPaths(certsDir);
  const logger = options.logger ?? nullLogger;
  const certsOptions = { onWarning: (w: string) => logger.warn(w) };
  const tls = await loadCertsDirTls(certsDir, certsOptions);
  const authorize = revocationCheck(p.revoked);
  const ref: { connector?: Connector } = {};
  const reload = serialized(async () => {
    const next = await loadCertsDirTls(certsDir, certsOptions);
    const listener = ref.connector?.admin.listener;
    const { closed } = applyTls(listener ? [listener] : [], next, { authorize, logger });
    return { certs: certsDir, allowed: next.clientCa?.length ?? 0, closed_revoked: closed };
  }, { logger, metrics: options.daemonMetrics });
  ref.connector = await Connector.start({
    ...rest,
    server: {
      host,
      port,
      tls,
      authorize,
      ...(pubsubRule ? { pubsubRule } : {}),
      ...(clientFilter ? { clientFilter } : {}),
      ...(cluster ? { cluster } : {}),
      ...(maxPerAddress !== undefined ? { maxPerAddress } : {}),
      ...(ipv6Prefix !== undefined ? { ipv6Prefix } : {}),
    },
    revoke: async (name) => void await revoke(certsDir, name),
    reload,
  });
  return ref.connector;
}

/**
 * Starts a client connector named `options.name` with its certificate from
 * `certsDir` (unless `cert`, `key` and `ca` name other files); it keeps a
 * mutual-TLS link to `options.server`.
 */
export async function startClientConnector(
  certsDir: string,
  options: ClientConnectorOptions,
): Promise<Connector> {
  const { server, fallbacks, serverName, servername, cert, key, ca, ...rest } = options;
  const p = certPaths(certsDir);
  const tls = await loadClientTls({
    ca: ca ?? p.ca,
    cert: cert ?? p.clientCert(rest.name),
    key: key ?? p.clientKey(rest.name),
  });
  return await Connector.start({
    ...rest,
    client: {
      ...server,
      ...(fallbacks?.length ? { fallbacks } : {}),
      tls: { ...tls, servername: servername ?? "localhost" },
      serverName: serverName ?? "server",
    },
  });
}

/**
 * Runs a started connector until `signal` aborts (pass a signal listened to
 * since before the connector started, so an early signal is not lost), a
 * `stop` arrives through the local API, or the server refuses it for good;
 * then drains it. Resolves after a clean stop; rejects with the refusal.
 */
export async function runConnector(c: Connector, options: RunConnectorOptions): Promise<void> {
  const { signal: stop } = options;
  const log = options.logger ?? nullLogger;
  let failed: Error | undefined;
  const fatal = c.fatal.catch((err) => failed = err);
  const signalled = new Promise<void>((r) => {
    if (stop.aborted) r();
    else stop.addEventListener("abort", () => r(), { once: true });
  });
  await Promise.race([signalled, c.stopRequested, fatal]);
  if (stop.aborted) log.info("draining", { signal: String(stop.reason) });
  await c.close();
  if (failed) throw failed;
  log.info("stopped", { name: c.name });
}
