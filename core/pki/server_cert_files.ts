import { exists } from "./_files.ts";
import { certPaths } from "./paths.ts";

/** A server certificate file and its private key. */
export interface ServerCertFiles {
  /** Server certificate (PEM). */
  cert: string;
  /** Its private key (PEM). */
  key: string;
}

/**
 * The server certificate and key to load for certificates directory `dir`:
 * its `server.pem` and `server.key` when `server.pem` is there; otherwise the
 * first of `fallbacks` whose certificate and key both exist (the files a
 * replaced tool loaded by default, so its users' certificates keep working
 * unchanged); otherwise the directory's files again, so that loading them
 * fails with an error that names them and says to run `sockkit certs init`.
 * A fallback taken is told to `onFallback` (for the operator's log), naming
 * both files and how to choose others.
 *
 * @example
 * ```ts
 * const files = await serverCertFiles("certs", [{ cert: "cert.pem", key: "key.pem" }], (m) => log.info(m));
 * const tls = await loadServerTls(files);
 * ```
 */
export async function serverCertFiles(
  dir: string,
  fallbacks: readonly ServerCertFiles[],
  onFallback: (message: string) => void = () => {},
): Promise<ServerCertFiles> {
  const p = certPaths(dir);
  const own = { cert: p.serverCert, key: p.serverKey };
  if (fallbacks.length === 0 || await exists(p.serverCert)) return own;
  for (const f of fallbacks) {
    if (!await exists(f.cert) || !await exists(f.key)) continue;
    onFallback(
      `using the replaced tool's server certificate "${f.cert}" and key "${f.key}" ("${p.serverCert}" not found; --cert/--key or --certs choose others)`,
    );
    return f;
  }
  return own;
}
