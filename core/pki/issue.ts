import { buildLeaf } from "./_build.ts";
import {
  exists,
  KEY_MODE,
  PUBLIC_MODE,
  readText,
  refuseOverwrite,
  withPkiLock,
  writePkiFileHeld,
} from "./_files.ts";
import { recordIssued } from "./issued.ts";
import { parseCertificates } from "./certificate.ts";
import { algorithmOf, generateKeyPair, importSigningKey, privateKeyPem } from "./keys.ts";
import { certPaths } from "./paths.ts";
import { DEFAULT_DAYS } from "./init.ts";

/** Options for {@linkcode issueClient}. */
export interface IssueClientOptions {
  /** Validity in days. Default 825. */
  days?: number;
  /**
   * Start of validity. Default: now minus 5 minutes. A date far enough in the
   * past makes an already expired certificate (for tests of refusal).
   */
  notBefore?: Date;
  /** Replace an existing certificate and key of that name. Default `false`. */
  force?: boolean;
}

/** What an issued client certificate is made of (file paths). */
export interface IssuedClient {
  /** `DIR/clients/NAME.pem`. */
  cert: string;
  /** `DIR/clients/NAME.key` (mode 0600). */
  key: string;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** Throws a `TypeError` unless `name` is usable as a CN and a file name. */
export function checkClientName(name: string): void {
  if (!NAME.test(name)) {
    throw new TypeError(
      `Invalid client name "${name}": use 1-64 letters, digits, ".", "_" or "-", starting with a letter or digit`,
    );
  }
}

/**
 * Issues a client certificate `CN=name` (clientAuth, CA:FALSE) signed by the
 * directory's CA, with a new key of the CA's algorithm, into
 * `clients/NAME.pem` and `clients/NAME.key` (mode 0600), and records its
 * name, serial and fingerprint in `issued.json`.
 *
 * @example
 * ```ts
 * const { cert, key } = await issueClient("certs", "alice");
 * const tls = await loadClientTls({ ca: "certs/ca.pem", cert, key });
 * ```
 */
export async function issueClient(
  dir: string,
  name: string,
  options: IssueClientOptions = {},
): Promise<IssuedClient> {
  checkClientName(name);
  const paths = certPaths(dir);
  const out = { cert: paths.clientCert(name), key: paths.clientKey(name) };
  await refuseOverwrite([out.key, out.cert], options.force);
  const init = 'run "sockkit certs init" first';
  const caText = await readText(paths.ca, "CA certificate", init);
  const caKeyText = await readText(paths.caKey, "CA key", init);
  const [ca] = await parseCertificates(caText, "CA certificate", paths.ca);
  const algorithm = algorithmOf(ca!.cert);
  const caKey = await importSigningKey(caKeyText, ca!.cert, paths.caKey);
  const keys = await generateKeyPair(algorithm);
  const spec = {
    cn: name,
    role: "client" as const,
    days: options.days ?? DEFAULT_DAYS,
    ...(options.notBefore ? { notBefore: options.notBefore } : {}),
  };
  const cert = await buildLeaf(spec, keys.publicKey, ca!.cert, caKey, algorithm);
  const pem = cert.toString("pem") + "\n";
  await Deno.mkdir(paths.clientsDir, { recursive: true });
  // One lock from the check to the last write: of two issues of one name at
  // once, one writes its key, certificate and record, the other is refused
  // (checked again here, the check above only spares it the key generation).
  await withPkiLock(paths.clientsDir, async () => {
    await refuseOverwrite([out.key, out.cert], options.force);
    // Every certificate issued stays on record, so revoking the name revokes
    // the ones --force replaced too (including one made before the record existed).
    if (await exists(out.cert)) {
      const previous = await parseCertificates(
        await readText(out.cert, "client certificate"),
        "",
        out.cert,
      )
        .catch(() => []);
      await recordIssued(paths.issued, name, previous);
    }
    await recordIssued(paths.issued, name, await parseCertificates(pem, "", out.cert));
    await writePkiFileHeld(out.key, await privateKeyPem(keys.privateKey), KEY_MODE);
    await writePkiFileHeld(out.cert, pem, PUBLIC_MODE);
  });
  return out;
}
