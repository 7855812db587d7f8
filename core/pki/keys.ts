import { ConfigError } from "../config/errors.ts";
import { createPrivateKey, createPublicKey } from "node:crypto";
import { x509 } from "./_x509.ts";
import { errorText } from "../log/mod.ts";

/** Key algorithms `sockkit certs` can create. */
export const KEY_ALGORITHMS = ["ecdsa", "rsa"] as const;
/** `"ecdsa"` (P-256, the default) or `"rsa"` (2048 bits). */
export type KeyAlgorithm = typeof KEY_ALGORITHMS[number];

const ECDSA = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;
const RSA = {
  name: "RSASSA-PKCS1-v1_5",
  modulusLength: 2048,
  publicExponent: new Uint8Array([1, 0, 1]),
  hash: "SHA-256",
} as const;

/** WebCrypto parameters for generating and signing with an algorithm. */
export function algorithmParams(algorithm: KeyAlgorithm): typeof ECDSA | typeof RSA {
  return algorithm === "rsa" ? RSA : ECDSA;
}

/** Generates an extractable signing key pair. */
export async function generateKeyPair(algorithm: KeyAlgorithm): Promise<CryptoKeyPair> {
  return await crypto.subtle.generateKey(algorithmParams(algorithm), true, [
    "sign",
    "verify",
  ]) as CryptoKeyPair;
}

/** Exports a private key as PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`). */
export async function privateKeyPem(key: CryptoKey): Promise<string> {
  const der = await crypto.subtle.exportKey("pkcs8", key);
  return x509.PemConverter.encode(der, "PRIVATE KEY") + "\n";
}

/** The algorithm of a certificate's public key, as sockkit names it. */
export function algorithmOf(cert: x509.X509Certificate): KeyAlgorithm {
  const name = cert.publicKey.algorithm.name;
  if (name === "ECDSA") return "ecdsa";
  if (name === "RSASSA-PKCS1-v1_5" || name === "RSA-PSS" || name === "RSA-OAEP") return "rsa";
  throw new Error(`Unsupported key algorithm "${name}" (sockkit uses ECDSA P-256 or RSA)`);
}

/**
 * Imports the PKCS#8 PEM private key that belongs to `cert` for signing.
 * `file` names the key in errors.
 */
export async function importSigningKey(
  pem: string,
  cert: x509.X509Certificate,
  file: string,
): Promise<CryptoKey> {
  const algorithm = algorithmParams(algorithmOf(cert));
  try {
    const der = x509.PemConverter.decodeFirst(pem);
    return await crypto.subtle.importKey("pkcs8", der, algorithm, false, ["sign"]);
  } catch (err) {
    throw new ConfigError(
      `Cannot use private key "${file}": not a PKCS#8 ${algorithm.name} key (${errorText(err)})`,
      { cause: err },
    );
  }
}

/**
 * Checks that a PEM private key (PKCS#8, PKCS#1 or SEC1) belongs to a
 * certificate by comparing public keys. Throws naming both files.
 */
export function checkKeyMatches(
  keyPem: string,
  keyFile: string,
  cert: x509.X509Certificate,
  certFile: string,
): void {
  let spki: Uint8Array;
  try {
    const priv = createPrivateKey(keyPem);
    spki = new Uint8Array(createPublicKey(priv).export({ type: "spki", format: "der" }));
  } catch (err) {
    throw new ConfigError(
      `Cannot use private key "${keyFile}": not a PEM private key (${errorText(err)})`,
      { cause: err },
    );
  }
  const want = new Uint8Array(cert.publicKey.rawData);
  if (spki.length !== want.length || spki.some((b, i) => b !== want[i])) {
    throw new ConfigError(
      `Private key "${keyFile}" does not belong to certificate "${certFile}": use the key made with that certificate`,
    );
  }
}
