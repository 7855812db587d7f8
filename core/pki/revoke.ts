import { X509Certificate } from "node:crypto";
import { x509 } from "./_x509.ts";
import { ConfigError } from "../config/errors.ts";
import { dirname } from "node:path";
import {
  exists,
  linkedFile,
  PUBLIC_MODE,
  readText,
  withPkiLock,
  writePkiFileHeld,
} from "./_files.ts";
import { type CertInfo, parseCertificates } from "./certificate.ts";
import { readIssued, serialOf } from "./issued.ts";
import { certPaths } from "./paths.ts";
import { errorText } from "../log/mod.ts";

/** One entry of `revoked.json`. */
export interface RevokedEntry {
  /** The certificate's CN (the name it was revoked by). */
  name: string;
  /** SHA-256 fingerprint, lowercase hex. */
  fingerprint: string;
  /** Serial number, lowercase hex (entries written before serials were recorded lack it). */
  serial?: string;
  /**
   * Issuer distinguished name (one RDN a line, as node:crypto prints it). A
   * serial matches only together with it; entries written before it was
   * recorded match by fingerprint only.
   */
  issuer?: string;
  /** Authority key identifier, lowercase hex, when the certificate has one (tells apart CAs that share a name). */
  authorityKeyId?: string;
  /** When it was revoked, ISO 8601. */
  revokedAt: string;
}

/**
 * Parses the text of `revoked.json` (an array of {@linkcode RevokedEntry}).
 * Throws a `SyntaxError` naming the file for anything else.
 */
export function parseRevoked(text: string, file: string): RevokedEntry[] {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new SyntaxError(
      `Invalid revocation list "${file}": ${errorText(err)}`,
      { cause: err },
    );
  }
  const ok = Array.isArray(data) &&
    data.every((e) =>
      typeof e === "object" && e !== null && typeof e.name === "string" &&
      typeof e.fingerprint === "string" && /^[0-9a-f]{64}$/.test(e.fingerprint) &&
      typeof e.revokedAt === "string" &&
      (e.serial === undefined || typeof e.serial === "string") &&
      (e.issuer === undefined || typeof e.issuer === "string") &&
      (e.authorityKeyId === undefined || typeof e.authorityKeyId === "string")
    );
  if (!ok) {
    throw new SyntaxError(
      `Invalid revocation list "${file}": expected an array of {"name", "fingerprint" (64 lowercase hex digits), "revokedAt"}`,
    );
  }
  return data as RevokedEntry[];
}

/** Reads `revoked.json`; a missing file is an empty list. */
export async function readRevoked(file: string): Promise<RevokedEntry[]> {
  if (!(await exists(file))) return [];
  return parseRevoked(await readText(file, "revocation list"), file);
}

/**
 * The mode a rewrite of the revocation list `file` gets: the old file's
 * (so the 0664 that lets the service's group revoke survives a root `certs
 * revoke`), else 0664 in a group-writable directory, else 0644. The group
 * comes from the directory (install.sh makes it setgid).
 */
async function listMode(file: string): Promise<number> {
  const old = await Deno.lstat(file).catch(() => undefined);
  if (old?.isFile && old.mode !== null) return old.mode & 0o666;
  const dir = await Deno.stat(dirname(file)).catch(() => undefined);
  return dir?.mode != null && (dir.mode & 0o020) !== 0 ? 0o664 : PUBLIC_MODE;
}

/** The certificates in a directory that go by `name`: `clients/NAME.pem` and allow-list entries with CN=name. */
async function certificatesNamed(dir: string, name: string): Promise<CertInfo[]> {
  const paths = certPaths(dir);
  const found: CertInfo[] = [];
  const file = paths.clientCert(name);
  if (!name.includes("/") && !name.includes("\\") && await exists(file)) {
    const certs = await parseCertificates(await readText(file, "client certificate"), "", file);
    found.push(certs[0]!);
  }
  for (const list of [paths.allowList, paths.clientCas]) {
    if (!(await exists(list))) continue;
    const allowed = await parseCertificates(
      await readText(list, "client allow-list"),
      "client allow-list",
      list,
    );
    for (const c of allowed) {
      if (c.cn === name && !found.some((f) => f.fingerprint === c.fingerprint)) found.push(c);
    }
  }
  return found;
}

/**
 * Revokes every certificate named `name` (every one `certs issue` recorded in
 * `issued.json`, including those `--force` replaced, the current
 * `clients/NAME.pem` and allow-listed certificates with CN=name) by adding
 * its fingerprint, and the serial with its issuer (name and authority key
 * id) when the certificate is at hand, to `revoked.json`. Servers using {@linkcode revocationCheck} refuse it from
 * their next connection on. Returns the entries added (empty when all were
 * already revoked).
 */
export async function revoke(dir: string, name: string): Promise<RevokedEntry[]> {
  const paths = certPaths(dir);
  const certs: Array<
    { fingerprint: string; serial?: string; issuer?: string; authorityKeyId?: string }
  > = (await certificatesNamed(dir, name)).map((c: CertInfo) => {
    const keyId = c.cert.getExtension(x509.AuthorityKeyIdentifierExtension)?.keyId;
    return {
      fingerprint: c.fingerprint,
      serial: serialOf(c),
      issuer: new X509Certificate(c.pem).issuer,
      ...(keyId ? { authorityKeyId: keyId.toLowerCase() } : {}),
    };
  });
  // issued.json has no issuer: those entries match by fingerprint, which names the very certificate
  for (const e of await readIssued(paths.issued)) {
    if (e.name === name && !certs.some((c) => c.fingerprint === e.fingerprint)) {
      certs.push({ fingerprint: e.fingerprint, serial: e.serial });
    }
  }
  if (certs.length === 0) {
    throw new ConfigError(
      `No certificate named "${name}" in "${paths.clientsDir}" or the allow-list "${paths.allowList}" (see "sockkit certs list")`,
    );
  }
  // from the read of the list to its write, so that two revokes at once (a command and a broker,
  // say) both land
  return withPkiLock(dir, async () => {
    const list = await readRevoked(paths.revoked);
    const added: RevokedEntry[] = [];
    const now = new Date().toISOString();
    for (const c of certs) {
      if (list.some((e) => e.fingerprint === c.fingerprint)) continue;
      added.push({
        name,
        fingerprint: c.fingerprint,
        ...(c.serial !== undefined ? { serial: c.serial } : {}),
        ...(c.issuer !== undefined ? { issuer: c.issuer } : {}),
        ...(c.authorityKeyId !== undefined ? { authorityKeyId: c.authorityKeyId } : {}),
        revokedAt: now,
      });
    }
    if (added.length > 0) {
      await writePkiFileHeld(
        paths.revoked,
        JSON.stringify([...list, ...added], null, 2) + "\n",
        await listMode(await linkedFile(paths.revoked)),
      );
    }
    return added;
  });
}
