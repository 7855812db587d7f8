import { join } from "node:path";

/** Where each file of a certificates directory lives. */
export interface CertPaths {
  /** The directory itself. */
  dir: string;
  /** CA certificate, `DIR/ca.pem`. */
  ca: string;
  /** CA private key (mode 0600), `DIR/ca.key`. */
  caKey: string;
  /** Server certificate, `DIR/server.pem`. */
  serverCert: string;
  /** Server private key (mode 0600), `DIR/server.key`. */
  serverKey: string;
  /** Client allow-list: the CA certificate and individually allowed (pinned) client certificates, `DIR/allowed.pem`. */
  allowList: string;
  /** Operator CAs whose certificates clients may chain to (`certs allow --ca`), `DIR/client_cas.pem`. */
  clientCas: string;
  /** Revoked certificates, `DIR/revoked.json`. */
  revoked: string;
  /** Every client certificate `certs issue` made (name, serial, fingerprint), `DIR/issued.json`. */
  issued: string;
  /** Client certificates and keys, `DIR/clients`. */
  clientsDir: string;
  /** A client's certificate, `DIR/clients/NAME.pem`. */
  clientCert(name: string): string;
  /** A client's private key (mode 0600), `DIR/clients/NAME.key`. */
  clientKey(name: string): string;
}

/**
 * The file layout of a certificates directory made by `sockkit certs init`.
 *
 * @example
 * ```ts
 * const p = certPaths("certs");
 * const tls = await loadServerTls({ cert: p.serverCert, key: p.serverKey, clientCerts: p.allowList });
 * ```
 */
export function certPaths(dir: string): CertPaths {
  const clientsDir = join(dir, "clients");
  return {
    dir,
    ca: join(dir, "ca.pem"),
    caKey: join(dir, "ca.key"),
    serverCert: join(dir, "server.pem"),
    serverKey: join(dir, "server.key"),
    allowList: join(dir, "allowed.pem"),
    clientCas: join(dir, "client_cas.pem"),
    revoked: join(dir, "revoked.json"),
    issued: join(dir, "issued.json"),
    clientsDir,
    clientCert: (name) => join(clientsDir, `${name}.pem`),
    clientKey: (name) => join(clientsDir, `${name}.key`),
  };
}
