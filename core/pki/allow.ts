import { ConfigError } from "../config/errors.ts";
import { exists, PUBLIC_MODE, readText, withPkiLock, writePkiFileHeld } from "./_files.ts";
import { readCertificateFile } from "./_cert_file.ts";
import { parseCertificates } from "./certificate.ts";
import { type CertListing, listingOf } from "./list.ts";
import { certPaths } from "./paths.ts";
import { readRevoked } from "./revoke.ts";
import { requireV3, V3_CLIENT_FIX } from "./validate.ts";

/** Result of {@linkcode allowCert}. */
export interface AllowResult {
  /** Certificates appended to the allow-list. */
  added: CertListing[];
  /** Certificates that were already in it (left as they are). */
  present: CertListing[];
  /** Certificates that are allowed but expire soon (within {@linkcode EXPIRY_WARNING_DAYS}), one line each. */
  warnings: string[];
}

/** `allowCert` warns about a certificate that expires within this many days. */
export const EXPIRY_WARNING_DAYS = 30;

/** Options for {@linkcode allowCert}. */
export interface AllowOptions {
  /**
   * Add operator CA certificates (to `client_cas.pem`), which admit every
   * client certificate they issued, instead of pinning the certificates.
   * Default `false`.
   */
  ca?: boolean;
}

/**
 * Adds the certificate(s) in `file` to the directory's client allow-list
 * (`allowed.pem`) as pins: typically a client's self-signed certificate made
 * with `openssl req -x509`. A pinned certificate admits a client only when it
 * presents that very certificate, never one it signed, even when it says
 * CA:TRUE. With `ca`, the certificates are operator CAs instead, written to
 * `client_cas.pem`: a client certificate they issued is accepted. Each must
 * be X.509 v3 and either self-signed or a CA certificate (a leaf issued by
 * some other CA cannot be verified on its own: allow its CA with `ca`).
 * Servers read both files when they start. An expired certificate is
 * refused; one that expires within {@linkcode EXPIRY_WARNING_DAYS} is allowed
 * with a warning. `file` is PEM or one DER certificate.
 *
 * @example
 * ```ts
 * await allowCert("certs", "bob-selfsigned.pem");
 * await allowCert("certs", "operator-ca.pem", { ca: true });
 * ```
 */
export async function allowCert(
  dir: string,
  file: string,
  options: AllowOptions = {},
): Promise<AllowResult> {
  const paths = certPaths(dir);
  const target = options.ca ? paths.clientCas : paths.allowList;
  const incoming = await readCertificateFile(file);
  requireV3(incoming, file, V3_CLIENT_FIX);
  const now = Date.now();
  const warnings: string[] = [];
  const renew = options.ca
    ? "renew the CA (a new CA certificate for the same key) and allow that with --ca"
    : "make a new one (openssl req -x509 ... -days 365) and allow that";
  for (const c of incoming) {
    const cn = c.cn ? ` (CN=${c.cn})` : "";
    if (c.notAfter.getTime() < now) {
      throw new ConfigError(
        `Certificate "${file}"${cn} expired on ${c.notAfter.toISOString()}: ` +
          `servers would refuse it, so it is not allowed; ${renew}`,
      );
    }
    const days = Math.floor((c.notAfter.getTime() - now) / 86_400_000);
    if (days < EXPIRY_WARNING_DAYS) {
      warnings.push(
        `Certificate "${file}"${cn} expires on ${c.notAfter.toISOString()} (in ${days} days): ` +
          `servers refuse it from then on; ${renew} before that date`,
      );
    }
    if (!c.selfSigned && !c.isCa) {
      throw new ConfigError(
        `Certificate "${file}" (CN=${c.cn}) is not self-signed (issuer "${c.issuer}") and not a CA: ` +
          `a server cannot verify it alone, allow its issuing CA certificate instead (--ca)`,
      );
    }
    if (options.ca && !c.isCa) {
      throw new ConfigError(
        `Certificate "${file}" (CN=${c.cn}) is not a CA certificate (no basicConstraints CA:TRUE): ` +
          `allow it without --ca, as a pinned client certificate`,
      );
    }
  }
  // from the read of the list to its write, so that two allows at once both land
  return withPkiLock(dir, async () => {
    // the allow-list must exist (certs init); the CA file is created by the first --ca
    const listText = options.ca && !(await exists(target)) ? "" : await readText(
      target,
      options.ca ? "client CA list" : "client allow-list",
      'run "sockkit certs init"',
    );
    const current = listText === ""
      ? []
      : await parseCertificates(listText, "client allow-list", target);
    const revoked = new Set((await readRevoked(paths.revoked)).map((e) => e.fingerprint));
    const known = new Set(current.map((c) => c.fingerprint));
    const result: AllowResult = { added: [], present: [], warnings };
    const append: string[] = [];
    for (const c of incoming) {
      const row = listingOf(c, options.ca ? "operator-ca" : "allowed", target, revoked);
      if (known.has(c.fingerprint)) {
        result.present.push(row);
        continue;
      }
      known.add(c.fingerprint);
      append.push(c.pem);
      result.added.push(row);
    }
    if (append.length > 0) {
      const base = listText === "" || listText.endsWith("\n") ? listText : listText + "\n";
      await writePkiFileHeld(target, base + append.join(""), PUBLIC_MODE);
    }
    return result;
  });
}
