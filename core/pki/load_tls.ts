import type { ClientTlsOptions, TlsMaterial } from "../net/mod.ts";
import { dirname, join } from "node:path";
import { exists, readText } from "./_files.ts";
import { type CertInfo, parseCertificates } from "./certificate.ts";
import { checkKeyMatches } from "./keys.ts";
import { checkServerLeaf, requireV3, V3_CLIENT_FIX } from "./validate.ts";
import { certPaths } from "./paths.ts";

/** File paths for {@linkcode loadServerTls}. */
export interface ServerTlsFiles {
  /** Server certificate (PEM; a chain may follow the leaf). */
  cert: string;
  /** Server private key (PEM). */
  key: string;
  /**
   * Client allow-list (PEM bundle of individually allowed client
   * certificates, and the CA certificate). Each entry is a pin (a client is
   * accepted through it only by presenting that very certificate) unless it
   * is one of the CAs of `clientCas`. Default: none, so no client certificate
   * is requested.
   */
  clientCerts?: string;
  /**
   * Files of CA certificates that client certificates may chain to; each is
   * allowed too. Default: `ca.pem` and `client_cas.pem` beside `clientCerts`,
   * those that exist (a certificates directory's own CA and the operator CAs
   * `sockkit certs allow --ca` added).
   */
  clientCas?: string[];
  /**
   * Called with each warning about a certificate that loads but fails with
   * some clients (a CA:TRUE leaf signed by another CA). Default: none.
   */
  onWarning?: (message: string) => void;
}

/** File paths for {@linkcode loadClientTls}. */
export interface ClientTlsFiles {
  /** CA certificate(s) that sign the server certificate. Default: the system store. */
  ca?: string;
  /** Client certificate to present. Requires `key`. */
  cert?: string;
  /** Client private key. Requires `cert`. */
  key?: string;
}

const INIT = 'run "sockkit certs init"';

/**
 * Reads a PEM bundle of trusted certificates and returns one PEM string per
 * certificate, each checked to be X.509 v3.
 */
async function loadBundle(file: string, what: string, hint: string): Promise<CertInfo[]> {
  const certs = await parseCertificates(await readText(file, what, hint), what, file);
  requireV3(certs, file, V3_CLIENT_FIX);
  return certs;
}

/**
 * Reads and checks the server's TLS files and returns the material for
 * `listen({ tls })`. The certificate must be X.509 v3 and not expired (a
 * self-signed CA:TRUE one as `openssl req -x509` makes it is fine), the key
 * must belong to it, and every allow-list entry must be v3 (Deno's TLS,
 * rustls, rejects v1). Errors name the file and the fix.
 *
 * @example
 * ```ts
 * const p = certPaths("certs");
 * const tls = await loadServerTls({ cert: p.serverCert, key: p.serverKey, clientCerts: p.allowList });
 * await using server = await listen({ port: 0, tls, requireClientCert: true }, handler);
 * ```
 */
export async function loadServerTls(files: ServerTlsFiles): Promise<TlsMaterial> {
  const certText = await readText(files.cert, "server certificate", INIT);
  const key = await readText(files.key, "server key", INIT);
  const chain = await parseCertificates(certText, "server certificate", files.cert);
  for (const warning of checkServerLeaf(chain, files.cert)) files.onWarning?.(warning);
  checkKeyMatches(key, files.key, chain[0]!.cert, files.cert);
  const material: TlsMaterial = { cert: chain.map((c) => c.pem).join(""), key };
  if (files.clientCerts !== undefined) {
    const allowed = await loadBundle(files.clientCerts, "client allow-list", INIT);
    const cas: CertInfo[] = [];
    for (const file of files.clientCas ?? await besideCas(files.clientCerts)) {
      cas.push(...await loadBundle(file, "client CA certificate", INIT));
    }
    const caPrints = new Set(cas.map((c) => c.fingerprint));
    const extra = cas.filter((c, i) =>
      !allowed.some((a) => a.fingerprint === c.fingerprint) &&
      cas.findIndex((o) => o.fingerprint === c.fingerprint) === i
    );
    material.clientCa = [...allowed, ...extra].map((c) => c.pem);
    material.clientPins = allowed.filter((c) => !caPrints.has(c.fingerprint)).map((c) =>
      c.fingerprint
    );
  }
  return material;
}

/** The CA files of the certificates directory an allow-list lives in: `ca.pem`, `client_cas.pem`. */
async function besideCas(allowList: string): Promise<string[]> {
  const dir = dirname(allowList);
  const out: string[] = [];
  for (const name of ["ca.pem", "client_cas.pem"]) {
    if (await exists(join(dir, name))) out.push(join(dir, name));
  }
  return out;
}

/** Options for {@linkcode loadCertsDirTls}. */
export interface CertsDirTlsOptions {
  /** Also load the directory's client allow-list (`allowed.pem`). Default `true`. */
  allowList?: boolean;
  /** Called with each certificate warning (see {@linkcode ServerTlsFiles.onWarning}). Default: none. */
  onWarning?: (message: string) => void;
}

/**
 * {@linkcode loadServerTls} for the standard files of a certificates
 * directory made by `sockkit certs init`: `server.pem`, `server.key` and,
 * unless `allowList` is false, `allowed.pem`.
 *
 * @example
 * ```ts
 * await using server = await listen({ port: 0, tls: await loadCertsDirTls("certs"), requireClientCert: true }, handler);
 * ```
 */
export function loadCertsDirTls(
  dir: string,
  options: CertsDirTlsOptions = {},
): Promise<TlsMaterial> {
  const p = certPaths(dir);
  return loadServerTls({
    cert: p.serverCert,
    key: p.serverKey,
    ...(options.allowList === false ? {} : { clientCerts: p.allowList }),
    ...(options.onWarning ? { onWarning: options.onWarning } : {}),
  });
}

/**
 * Reads a client's TLS files and returns the options for `connect({ tls })`.
 * The client certificate must be X.509 v3 and the key must belong to it.
 *
 * @example
 * ```ts
 * const tls = await loadClientTls({ ca: "certs/ca.pem", cert: "certs/clients/alice.pem", key: "certs/clients/alice.key" });
 * await using conn = await connect({ host: "localhost", port: 1191, tls });
 * ```
 */
export async function loadClientTls(files: ClientTlsFiles): Promise<ClientTlsOptions> {
  if ((files.cert === undefined) !== (files.key === undefined)) {
    throw new TypeError(
      files.cert === undefined
        ? `Client key "${files.key}" given without a client certificate: pass both or neither`
        : `Client certificate "${files.cert}" given without its key: pass both or neither`,
    );
  }
  const out: ClientTlsOptions = {};
  if (files.ca !== undefined) {
    const cas = await loadBundle(files.ca, "CA certificate", INIT);
    out.ca = cas.map((c) => c.pem);
  }
  if (files.cert !== undefined && files.key !== undefined) {
    const hint = 'run "sockkit certs issue NAME"';
    const certText = await readText(files.cert, "client certificate", hint);
    const key = await readText(files.key, "client key", hint);
    const chain = await parseCertificates(certText, "client certificate", files.cert);
    requireV3(chain, files.cert, V3_CLIENT_FIX);
    checkKeyMatches(key, files.key, chain[0]!.cert, files.cert);
    out.cert = chain.map((c) => c.pem).join("");
    out.key = key;
  }
  return out;
}
