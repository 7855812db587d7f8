import type { Logger } from "../log/mod.ts";
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

/** The server certificate files to load for a certificates directory (see {@linkcode serverCertFallback}). */
export type ServerCertFilesFor = (dir: string) => Promise<ServerCertFiles>;

/** Options for {@linkcode serverCertFallback}. */
export interface ServerCertFallbackOptions {
  /** The certificates directory the fallback applies to: the command's default one. */
  defaultDir: string;
  /** The replaced tool's certificate and key, for `defaultDir` without `server.pem`. */
  replaced: ServerCertFiles;
  /**
   * Logs the fallback taken (see {@linkcode serverCertFiles}) at info, once
   * while it stays the same: a reload that takes it again logs nothing.
   * Default: silent.
   */
  logger?: Logger;
}

/**
 * {@linkcode serverCertFiles} for a command that replaces a tool: the
 * default certificates directory without `server.pem` falls back to the
 * replaced tool's files; a directory the user chose never does. Make one
 * per process and call it at start and on each reload.
 *
 * @example
 * ```ts
 * const certFiles = serverCertFallback({ defaultDir: "certs", replaced: { cert: "cert.pem", key: "key.pem" }, logger: log });
 * const tls = await loadServerTls(await certFiles(settings.certs));
 * ```
 */
export function serverCertFallback(options: ServerCertFallbackOptions): ServerCertFilesFor {
  let told: string | undefined;
  return async (dir) => {
    let taken: string | undefined;
    const fallbacks = dir === options.defaultDir ? [options.replaced] : [];
    const files = await serverCertFiles(dir, fallbacks, (m) => taken = m);
    if (taken !== undefined && taken !== told) options.logger?.info(taken);
    told = taken;
    return files;
  };
}
