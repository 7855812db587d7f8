import { isIP } from "node:net";
import { x509 } from "./_x509.ts";
import { algorithmParams, type KeyAlgorithm } from "./keys.ts";

const DAY_MS = 86_400_000;
/** Certificates start 5 minutes in the past to tolerate clock skew. */
const SKEW_MS = 5 * 60_000;

/** Validity window: from `notBefore` (default now minus 5 minutes) for `days` days. */
export function validity(days: number, notBefore?: Date): { notBefore: Date; notAfter: Date } {
  if (!Number.isFinite(days) || days <= 0) {
    throw new RangeError(`Invalid validity: expected a positive number of days, got ${days}`);
  }
  const from = notBefore ?? new Date(Date.now() - SKEW_MS);
  return { notBefore: from, notAfter: new Date(from.getTime() + days * DAY_MS) };
}

/** A random positive 16-byte serial number, hex. */
export function serialNumber(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[0] = (bytes[0]! & 0x7f) | 0x01;
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Creates the self-signed CA certificate: CA:TRUE, keyCertSign + cRLSign. */
export async function buildCa(
  keys: CryptoKeyPair,
  algorithm: KeyAlgorithm,
  days: number,
): Promise<x509.X509Certificate> {
  return await x509.X509CertificateGenerator.createSelfSigned({
    name: "CN=sockkit CA, O=sockkit",
    keys,
    serialNumber: serialNumber(),
    signingAlgorithm: algorithmParams(algorithm),
    ...validity(days),
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
}

/** What a leaf certificate is for. */
export interface LeafSpec {
  /** Subject CN. */
  cn: string;
  /** `"server"` adds SANs and serverAuth; `"client"` adds clientAuth. */
  role: "server" | "client";
  /** Server names and addresses for subjectAltName (server only). */
  hosts?: string[];
  /** Validity in days. */
  days: number;
  /** Start of validity. Default: now minus 5 minutes. */
  notBefore?: Date;
}

/** Creates a CA-signed end-entity certificate (CA:FALSE) for a server or a client. */
export async function buildLeaf(
  spec: LeafSpec,
  publicKey: CryptoKey,
  ca: x509.X509Certificate,
  caKey: CryptoKey,
  algorithm: KeyAlgorithm,
): Promise<x509.X509Certificate> {
  const usage = algorithm === "rsa"
    ? x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment
    : x509.KeyUsageFlags.digitalSignature;
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(usage, true),
    new x509.ExtendedKeyUsageExtension([
      spec.role === "server" ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth,
    ]),
    await x509.SubjectKeyIdentifierExtension.create(publicKey),
    await x509.AuthorityKeyIdentifierExtension.create(ca.publicKey),
  ];
  if (spec.role === "server") {
    const names = (spec.hosts ?? []).map((h) => ({
      type: isIP(h) ? "ip" as const : "dns" as const,
      value: h,
    }));
    if (names.length === 0) throw new TypeError("A server certificate needs at least one host");
    extensions.push(new x509.SubjectAlternativeNameExtension(names));
  }
  return await x509.X509CertificateGenerator.create({
    subject: `CN=${spec.cn}`,
    issuer: ca.subject,
    publicKey,
    signingKey: caKey,
    serialNumber: serialNumber(),
    signingAlgorithm: algorithmParams(algorithm),
    ...validity(spec.days, spec.notBefore),
    extensions,
  });
}
