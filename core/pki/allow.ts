import { ConfigError } from "../config/errors.ts";
import { PUBLIC_MODE, readText, withPkiLock, writePkiFileHeld } from "./_files.ts";
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
}

/**
 * Adds the certificate(s) in `file` to the directory's client allow-list
 * (`allowed.pem`): typically a client's self-signed certificate made with
 * `openssl req -x509`, or another CA's certificate. Each must be X.509 v3
 * and either self-signed or a CA certificate (a leaf issued by some other CA
 * cannot be verified on its own: allow its CA instead). Servers read the
 * allow-list when they start.
 *
 * @example
 * ```ts
 * await allowCert("certs", "bob-selfsigned.pem");
 * ```
 */
export async function allowCert(dir: string, file: string): Promise<AllowResult> {
  const paths = certPaths(dir);
  const incoming = await parseCertificates(
    await readText(file, "certificate"),
    "certificate",
    file,
  );
  requireV3(incoming, file, V3_CLIENT_FIX);
  for (const c of incoming) {
    if (!c.selfSigned && !c.isCa) {
      throw new ConfigError(
        `Certificate "${file}" (CN=${c.cn}) is not self-signed (issuer "${c.issuer}") and not a CA: ` +
          `a server cannot verify it alone, allow its issuing CA certificate instead`,
      );
    }
  }
  // from the read of the list to its write, so that two allows at once both land
  return withPkiLock(dir, async () => {
    const listText = await readText(
      paths.allowList,
      "client allow-list",
      'run "sockkit certs init"',
    );
    const current = await parseCertificates(listText, "client allow-list", paths.allowList);
    const revoked = new Set((await readRevoked(paths.revoked)).map((e) => e.fingerprint));
    const known = new Set(current.map((c) => c.fingerprint));
    const result: AllowResult = { added: [], present: [] };
    const append: string[] = [];
    for (const c of incoming) {
      const row = listingOf(c, "allowed", paths.allowList, revoked);
      if (known.has(c.fingerprint)) {
        result.present.push(row);
        continue;
      }
      known.add(c.fingerprint);
      append.push(c.pem);
      result.added.push(row);
    }
    if (append.length > 0) {
      const base = listText.endsWith("\n") ? listText : listText + "\n";
      await writePkiFileHeld(paths.allowList, base + append.join(""), PUBLIC_MODE);
    }
    return result;
  });
}
