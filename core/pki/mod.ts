/**
 * Certificates for sockkit's TLS services, over `@peculiar/x509` and
 * WebCrypto (ECDSA P-256 by default, RSA 2048 optional): a certificates
 * directory with a CA, a server certificate, issued client certificates, a
 * client allow-list and a revocation list; loading and checking TLS files
 * for `listen()`/`connect()` with errors that name the file and the fix; and
 * the revocation hook servers pass as `authorize`.
 *
 * ```
 * DIR/ca.pem  ca.key (0600)  server.pem  server.key (0600)
 *     allowed.pem (CA + individually allowed client certificates)  revoked.json
 *     clients/NAME.pem  clients/NAME.key (0600)
 *     .pki.lock  clients/.pki.lock (held while pki writes, see removePkiLeftovers)
 * ```
 *
 * @module
 */
export * from "./paths.ts";
export * from "./keys.ts";
export * from "./certificate.ts";
export * from "./validate.ts";
export * from "./init.ts";
export * from "./issue.ts";
export * from "./allow.ts";
export * from "./list.ts";
export * from "./revoke.ts";
export * from "./issued.ts";
export * from "./leftovers.ts";
export * from "./revocation_check.ts";
export * from "./load_tls.ts";
export * from "./server_cert_files.ts";
