import { ConfigError } from "../config/errors.ts";
import type { CertInfo } from "./certificate.ts";

function named(info: CertInfo, file: string, index: number, count: number): string {
  const cn = info.cn ? ` (CN=${info.cn})` : "";
  return count > 1 ? `Certificate #${index + 1}${cn} in "${file}"` : `Certificate "${file}"${cn}`;
}

/**
 * Throws for an X.509 v1 (or v2) certificate, naming the file and the fix:
 * rustls, which serves Deno's TLS, rejects them ("UnsupportedCertVersion" or a
 * silent hang-up).
 */
export function requireV3(certs: CertInfo[], file: string, fix: string): void {
  for (const [i, c] of certs.entries()) {
    if (c.version !== 3) {
      throw new ConfigError(
        `${
          named(c, file, i, certs.length)
        } is X.509 v${c.version}, which Deno's TLS (rustls) rejects: re-create it as v3 (${fix})`,
      );
    }
  }
}

/** The fix for a v1 client certificate. */
export const V3_CLIENT_FIX =
  'sockkit certs issue NAME, or "openssl req -x509 ..." for a self-signed one, or "openssl x509 -req ... -extfile" with basicConstraints/subjectAltName';

/** The fix for a v1 server certificate. */
export const V3_SERVER_FIX =
  'sockkit certs init, or "openssl x509 -req ... -extfile" with basicConstraints=CA:FALSE and subjectAltName';

/**
 * Checks the server's leaf certificate: X.509 v3 and not expired. Returns
 * warnings for certificates that load but fail with some clients.
 *
 * A self-signed CA:TRUE certificate (what `openssl req -x509` makes, as the
 * replaced tools' READMEs say) is accepted without a warning: `node:tls`
 * clients under Deno (sockkit's own) and Python's `ssl` accept it as a server
 * certificate when given it as the CA. A CA:TRUE leaf signed by another CA is
 * accepted with a warning: Python's `ssl` accepts it, but Deno's `node:tls`
 * clients refuse it ("self-signed certificate").
 */
export function checkServerLeaf(certs: CertInfo[], file: string, now = new Date()): string[] {
  requireV3(certs, file, V3_SERVER_FIX);
  const leaf = certs[0]!;
  if (leaf.notAfter.getTime() < now.getTime()) {
    throw new ConfigError(
      `Server certificate "${file}" expired on ${leaf.notAfter.toISOString()}: ` +
        `renew it (sockkit certs init --force)`,
    );
  }
  if (leaf.isCa && !leaf.selfSigned) {
    return [
      `Server certificate "${file}"${
        leaf.cn ? ` (CN=${leaf.cn})` : ""
      } has basicConstraints CA:TRUE and is signed by "${leaf.issuer}": ` +
      `sockkit's clients (Deno node:tls) refuse it with "self-signed certificate", Python's ssl accepts it ` +
      `(re-create it with basicConstraints=CA:FALSE to serve both)`,
    ];
  }
  return [];
}
