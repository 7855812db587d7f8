import { ConfigError } from "../config/errors.ts";
import { x509 } from "./_x509.ts";
import { errorText } from "../log/mod.ts";

/** One parsed certificate with the facts sockkit checks and shows. */
export interface CertInfo {
  /** The certificate as one PEM block. */
  pem: string;
  /** The parsed certificate. */
  cert: x509.X509Certificate;
  /** X.509 version: 1, 2 or 3. */
  version: number;
  /** Subject common name, or `""` when the subject has none. */
  cn: string;
  /** Full subject (`CN=alice`). */
  subject: string;
  /** Full issuer. */
  issuer: string;
  /** SHA-256 of the DER encoding, lowercase hex without separators. */
  fingerprint: string;
  /** Start of validity. */
  notBefore: Date;
  /** End of validity. */
  notAfter: Date;
  /** basicConstraints CA:TRUE. */
  isCa: boolean;
  /** Subject equals issuer and the signature verifies with its own key. */
  selfSigned: boolean;
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

/** Splits PEM text (a bundle) into its `CERTIFICATE` blocks; keys and other blocks are skipped. */
export function splitPem(text: string): string[] {
  return [...text.matchAll(PEM_CERT)].map((m) => m[0] + "\n");
}

/** Reads one DER length at `pos`; returns [length, position after the length bytes]. */
function derLength(der: Uint8Array, pos: number): [number, number] {
  const first = der[pos];
  if (first === undefined) throw new SyntaxError("Truncated DER length");
  if (first < 0x80) return [first, pos + 1];
  const n = first & 0x7f;
  if (n === 0 || n > 4) throw new SyntaxError("Unsupported DER length");
  let len = 0;
  for (let i = 1; i <= n; i++) {
    const b = der[pos + i];
    if (b === undefined) throw new SyntaxError("Truncated DER length");
    len = len * 256 + b;
  }
  return [len, pos + 1 + n];
}

/**
 * The X.509 version of a DER certificate (1, 2 or 3), read from the optional
 * `[0] EXPLICIT version` field that opens `tbsCertificate`: absent means v1.
 */
export function certificateVersion(der: Uint8Array): number {
  if (der[0] !== 0x30) throw new SyntaxError("Not a DER certificate (no outer SEQUENCE)");
  let [, pos] = derLength(der, 1);
  if (der[pos] !== 0x30) throw new SyntaxError("Not a DER certificate (no tbsCertificate)");
  [, pos] = derLength(der, pos + 1);
  if (der[pos] !== 0xa0) return 1;
  [, pos] = derLength(der, pos + 1);
  if (der[pos] !== 0x02) throw new SyntaxError("Malformed certificate version");
  const [len, at] = derLength(der, pos + 1);
  let v = 0;
  for (let i = 0; i < len; i++) v = v * 256 + (der[at + i] ?? 0);
  return v + 1;
}

function toHex(buf: ArrayBuffer): string {
  return Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** SHA-256 fingerprint of a DER certificate, lowercase hex (the same form `PeerIdentity.fingerprint` uses). */
export async function fingerprintOf(der: ArrayBuffer): Promise<string> {
  return toHex(await crypto.subtle.digest("SHA-256", der));
}

/** The subject CN of a parsed certificate, or `""`. */
export function commonName(cert: x509.X509Certificate): string {
  return cert.subjectName.getField("CN")[0] ?? "";
}

/**
 * Parses one PEM certificate. `label` names its source in errors
 * (`certificate #2 in "certs/allowed.pem"`).
 */
export async function parseCertificate(pem: string, label: string): Promise<CertInfo> {
  let cert: x509.X509Certificate;
  try {
    cert = new x509.X509Certificate(pem);
  } catch (err) {
    throw new ConfigError(
      `Cannot parse ${label}: ${errorText(err)}`,
      { cause: err },
    );
  }
  const der = cert.rawData;
  const bc = cert.getExtension(x509.BasicConstraintsExtension);
  let selfSigned = false;
  if (cert.subject === cert.issuer) {
    try {
      selfSigned = await cert.isSelfSigned();
    } catch {
      selfSigned = false;
    }
  }
  return {
    pem,
    cert,
    version: certificateVersion(new Uint8Array(der)),
    cn: commonName(cert),
    subject: cert.subject,
    issuer: cert.issuer,
    fingerprint: await fingerprintOf(der),
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
    isCa: bc?.ca === true,
    selfSigned,
  };
}

/**
 * Parses every certificate in PEM text. Throws when there is none:
 * `No certificate in <what> "<file>": expected "-----BEGIN CERTIFICATE-----" blocks`.
 */
export async function parseCertificates(
  text: string,
  what: string,
  file: string,
): Promise<CertInfo[]> {
  const blocks = splitPem(text);
  if (blocks.length === 0) {
    throw new ConfigError(
      `No certificate in ${what} "${file}": expected PEM "-----BEGIN CERTIFICATE-----" blocks`,
    );
  }
  const out: CertInfo[] = [];
  for (const [i, pem] of blocks.entries()) {
    const label = blocks.length > 1 ? `certificate #${i + 1} in "${file}"` : `"${file}"`;
    out.push(await parseCertificate(pem, label));
  }
  return out;
}
