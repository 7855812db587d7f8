import { ConfigError } from "../config/errors.ts";
import { fsReason } from "./_files.ts";
import { x509 } from "./_x509.ts";
import { type CertInfo, parseCertificate, parseCertificates, splitPem } from "./certificate.ts";

const PEM_KEY = /-----BEGIN (?:RSA |EC |DSA |ENCRYPTED |OPENSSH )?PRIVATE KEY-----/;
const PEM_CSR = /-----BEGIN (?:NEW )?CERTIFICATE REQUEST-----/;

/**
 * Reads the certificate(s) a user gives a command (`certs allow FILE`): PEM
 * blocks, or one DER certificate (what `openssl x509 -outform der` and
 * Windows' `.cer` export make), taken as its PEM form. A file holding a
 * private key or a certificate request instead is refused with what it is
 * and what to give instead; anything else gets the PEM error of
 * {@linkcode parseCertificates}.
 */
export async function readCertificateFile(file: string): Promise<CertInfo[]> {
  let bytes: Uint8Array<ArrayBuffer>;
  try {
    bytes = await Deno.readFile(file);
  } catch (err) {
    throw new ConfigError(`Cannot read certificate "${file}": ${fsReason(err)}`, { cause: err });
  }
  const text = new TextDecoder().decode(bytes);
  if (splitPem(text).length > 0) return await parseCertificates(text, "certificate", file);
  if (PEM_KEY.test(text)) {
    throw new ConfigError(
      `"${file}" is a private key, not a certificate: give the certificate made with it ` +
        `(the -out file of "openssl req -x509"), and keep the key with the client`,
    );
  }
  if (PEM_CSR.test(text)) {
    throw new ConfigError(
      `"${file}" is a certificate request (CSR), not a certificate: sign it into a certificate ` +
        `first (sockkit certs issue NAME makes one instead), then allow that`,
    );
  }
  if (bytes[0] === 0x30) {
    let cert: x509.X509Certificate | undefined;
    try {
      cert = new x509.X509Certificate(bytes);
    } catch {
      cert = undefined; // not DER X.509 after all: the PEM error below says what is expected
    }
    if (cert) return [await parseCertificate(cert.toString("pem") + "\n", `"${file}"`)];
  }
  return await parseCertificates(text, "certificate", file);
}
