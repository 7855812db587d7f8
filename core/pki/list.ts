import { exists, readText } from "./_files.ts";
import { type CertInfo, parseCertificates } from "./certificate.ts";
import { certPaths } from "./paths.ts";
import { readRevoked } from "./revoke.ts";

/** What a listed certificate is to sockkit. */
export type CertKind = "ca" | "server" | "client" | "allowed";

/** One row of {@linkcode listCerts}. */
export interface CertListing {
  /** `ca`, `server`, `client` (issued into `clients/`) or `allowed` (individually allow-listed). */
  kind: CertKind;
  /** Subject CN (`""` when there is none). */
  name: string;
  /** Full subject. */
  subject: string;
  /** SHA-256 fingerprint, lowercase hex. */
  fingerprint: string;
  /** Start of validity. */
  notBefore: Date;
  /** End of validity. */
  notAfter: Date;
  /** `notAfter` is in the past. */
  expired: boolean;
  /** Its fingerprint is in `revoked.json`. */
  revoked: boolean;
  /** The file it was read from. */
  file: string;
}

/** Turns a parsed certificate into a listing row. */
export function listingOf(
  c: CertInfo,
  kind: CertKind,
  file: string,
  revoked: ReadonlySet<string>,
  now = new Date(),
): CertListing {
  return {
    kind,
    name: c.cn,
    subject: c.subject,
    fingerprint: c.fingerprint,
    notBefore: c.notBefore,
    notAfter: c.notAfter,
    expired: c.notAfter.getTime() < now.getTime(),
    revoked: revoked.has(c.fingerprint),
    file,
  };
}

/**
 * Lists the certificates of a directory: the CA, the server certificate, the
 * issued client certificates (`clients/*.pem`, by name) and the individually
 * allowed certificates of `allowed.pem` (everything in it but the CA), each
 * with fingerprint, expiry and whether it is revoked.
 */
export async function listCerts(dir: string): Promise<CertListing[]> {
  const paths = certPaths(dir);
  const init = 'run "sockkit certs init"';
  const revoked = new Set((await readRevoked(paths.revoked)).map((e) => e.fingerprint));
  const rows: CertListing[] = [];
  const ca = await parseCertificates(
    await readText(paths.ca, "CA certificate", init),
    "CA certificate",
    paths.ca,
  );
  for (const c of ca) rows.push(listingOf(c, "ca", paths.ca, revoked));
  if (await exists(paths.serverCert)) {
    const server = await parseCertificates(
      await readText(paths.serverCert, "server certificate"),
      "server certificate",
      paths.serverCert,
    );
    rows.push(listingOf(server[0]!, "server", paths.serverCert, revoked));
  }
  if (await exists(paths.clientsDir)) {
    const names: string[] = [];
    for await (const e of Deno.readDir(paths.clientsDir)) {
      if (e.isFile && e.name.endsWith(".pem")) names.push(e.name);
    }
    for (const n of names.sort()) {
      const file = `${paths.clientsDir}/${n}`;
      const certs = await parseCertificates(
        await readText(file, "client certificate"),
        "client certificate",
        file,
      );
      rows.push(listingOf(certs[0]!, "client", file, revoked));
    }
  }
  if (await exists(paths.allowList)) {
    const caPrints = new Set(ca.map((c) => c.fingerprint));
    const allowed = await parseCertificates(
      await readText(paths.allowList, "client allow-list"),
      "client allow-list",
      paths.allowList,
    ).catch((err) => {
      if (err instanceof Error && err.message.startsWith("No certificate")) return [];
      throw err;
    });
    for (const c of allowed) {
      if (!caPrints.has(c.fingerprint)) {
        rows.push(listingOf(c, "allowed", paths.allowList, revoked));
      }
    }
  }
  return rows;
}
