import { exists } from "./_files.ts";
import { certPaths } from "./paths.ts";

/** A server certificate file and its private key. */
export interface ServerCertFiles {
  /** Server certificate (PEM). */
  cert: string;
  /** Its private key (PEM). */
  key: string;
}

/** What {@linkcode serverCertFiles} picked. */
export interface PickedServerCertFiles extends ServerCertFiles {
  /** `true` when one of the fallbacks was taken instead of the directory's files. */
  fallback: boolean;
}

/**
 * The server certificate and key to load for certificates directory `dir`:
 * its `server.pem` and `server.key` when `server.pem` is there; otherwise the
 * first of `fallbacks` whose certificate and key both exist (the files a
 * replaced tool loaded by default, so its users' certificates keep working
 * unchanged); otherwise the directory's files again, so that loading them
 * fails with an error that names them and says to run `sockkit certs init`.
 *
 * @example
 * ```ts
 * const files = await serverCertFiles("certs", [{ cert: "cert.pem", key: "key.pem" }]);
 * const tls = await loadServerTls(files);
 * ```
 */
export async function serverCertFiles(
  dir: string,
  fallbacks: readonly ServerCertFiles[],
): Promise<PickedServerCertFiles> {
  const p = certPaths(dir);
  const own = { cert: p.serverCert, key: p.serverKey, fallback: false };
  if (fallbacks.length === 0 || await exists(p.serverCert)) return own;
  for (const f of fallbacks) {
    if (await exists(f.cert) && await exists(f.key)) return { ...f, fallback: true };
  }
  return own;
}
