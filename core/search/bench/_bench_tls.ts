import { join } from "node:path";
import type { ClientTlsOptions, TlsMaterial } from "../../net/mod.ts";
import { initPki, loadCertsDirTls, loadClientTls } from "../../pki/mod.ts";

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
  const certs = join(dir, "certs");
  const p = await initPki(certs);
  const server = await loadCertsDirTls(certs, { allowList: false });
  const client = { ...(await loadClientTls({ ca: p.ca })), servername: "localhost" };
  return { server, client };
}
