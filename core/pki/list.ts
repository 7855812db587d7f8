import { exists, readText } from "./_files.ts";
import { type CertInfo, parseCertificates } from "./certificate.ts";
import { certPaths } from "./paths.ts";
import { readRevoked } from "./revoke.ts";

/** What a listed certificate is to sockkit. */
export type CertKind = "ca" | "server" | "client" | "allowed" | "operator-ca";

/** One row of {@linkcode listCerts}. */
export interface CertListing {
  /**
   * `ca`, `server`, `client` (issued into `clients/`), `allowed` (individually
   * allow-listed, `allowed.pem`) or `operator-ca` (`certs allow --ca`, `client_cas.pem`).
   */
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
  /**
   * A `client` whose signature does not verify with the directory's CA
   * (`ca.pem`): issued by a CA that `certs init --force` replaced, so servers
   * refuse it. `false` for every other kind.
   */
  otherCa: boolean;
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
    otherCa: false,
    file,
  };
}

/**
 * Lists the certificates of a directory: the CA, the server certificate, the
 * issued client certificates (`clients/*.pem`, by name, each checked against
 * the CA), the individually allowed certificates of `allowed.pem` (everything
 * in it but the CA) and the operator CAs of `client_cas.pem`, each with
 * fingerprint, expiry and whether it is revoked.
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
      const row = listingOf(certs[0]!, "client", file, revoked);
      row.otherCa = !(await signedByAny(certs[0]!, ca));
      rows.push(row);
    }
  }
  const lists = [
    [paths.allowList, "client allow-list", "allowed"],
    [paths.clientCas, "client CA list", "operator-ca"],
  ] as const;
  const caPrints = new Set(ca.map((c) => c.fingerprint));
  for (const [file, what, kind] of lists) {
    if (!(await exists(file))) continue;
    const certs = await parseCertificates(await readText(file, what), what, file).catch((err) => {
      if (err instanceof Error && err.message.startsWith("No certificate")) return [];
      throw err;
    });
    for (const c of certs) {
      if (!caPrints.has(c.fingerprint)) rows.push(listingOf(c, kind, file, revoked));
    }
  }
  return rows;
}

/** Whether `c` was issued by one of `cas`: issuer name and signature. */
async function signedByAny(c: CertInfo, cas: CertInfo[]): Promise<boolean> {
  for (const ca of cas) {
    if (c.issuer !== ca.subject) continue;
    const ok = await c.cert.verify({ publicKey: ca.cert, signatureOnly: true }).catch(() => false);
    if (ok) return true;
  }
  return false;
}
