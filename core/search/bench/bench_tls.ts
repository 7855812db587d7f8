import { join } from "node:path";
import type { ClientTlsOptions, TlsMaterial } from "../../net/mod.ts";
import { certPaths, initPki, loadClientTls, loadServerTls } from "../../pki/mod.ts";

/** TLS material for an in-process search server and the options its load clients connect with. */
export interface BenchTls {
  server: TlsMaterial;
  client: ClientTlsOptions;
}

/**
 * Makes a throwaway PKI in `dir/certs` and returns the TLS material for an
 * in-process server on loopback and its clients (which check the server
 * certificate as `localhost`). The caller removes `dir`.
 */
export async function benchTls(dir: string): Promise<BenchTls> {
  await initPki(join(dir, "certs"));
  const p = certPaths(join(dir, "certs"));
  const server = await loadServerTls({ cert: p.serverCert, key: p.serverKey });
  const client = { ...(await loadClientTls({ ca: p.ca })), servername: "localhost" };
  return { server, client };
}
