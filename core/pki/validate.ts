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
      throw new Error(
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
 * Checks the server's leaf certificate: X.509 v3, not CA:TRUE (rustls clients
 * refuse a CA certificate as a server's end-entity certificate), not expired.
 */
export function checkServerLeaf(certs: CertInfo[], file: string, now = new Date()): void {
  requireV3(certs, file, V3_SERVER_FIX);
  const leaf = certs[0]!;
  if (leaf.isCa) {
    throw new Error(
      `Server certificate "${file}"${
        leaf.cn ? ` (CN=${leaf.cn})` : ""
      } has basicConstraints CA:TRUE, which Deno's TLS (rustls) clients refuse as a server certificate: ` +
        `use a server certificate signed by a CA (sockkit certs init), or re-create it with basicConstraints=CA:FALSE and subjectAltName`,
    );
  }
  if (leaf.notAfter.getTime() < now.getTime()) {
    throw new Error(
      `Server certificate "${file}" expired on ${leaf.notAfter.toISOString()}: ` +
        `renew it (sockkit certs init --force)`,
    );
  }
}
