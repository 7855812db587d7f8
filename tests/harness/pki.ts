import { type CertPaths, initPki, issueClient } from "../../core/pki/mod.ts";

/** Options for {@linkcode makePki}. */
export interface MakePkiOptions {
  /** Client certificates to issue (CN = name). Default none. */
  clients?: string[];
  /** Server names for the server certificate. Default `["localhost", "127.0.0.1", "::1"]`. */
  hosts?: string[];
  /** Key algorithm. Default `"ecdsa"`. */
  algorithm?: "ecdsa" | "rsa";
}

/** A throwaway certificates directory. */
export interface TestPki extends AsyncDisposable {
  /** The temporary certificates directory. */
  dir: string;
  /** Its file layout. */
  paths: CertPaths;
  /** Paths of an issued client's certificate and key. */
  client(name: string): { cert: string; key: string };
  /** Removes the directory. Idempotent. */
  close(): Promise<void>;
}

/**
 * Creates a temp certificates directory through `initPki` and `issueClient`
 * (the real code path), removed on dispose.
 *
 * @example
 * ```ts
 * await using pki = await makePki({ clients: ["alice"] });
 * const tls = await loadClientTls({ ca: pki.paths.ca, ...pki.client("alice") });
 * ```
 */
export async function makePki(options: MakePkiOptions = {}): Promise<TestPki> {
  const dir = await Deno.makeTempDir({ prefix: "sockkit-pki-" });
  let removed: Promise<void> | undefined;
  const close = () =>
    removed ??= Deno.remove(dir, { recursive: true }).catch((err) => {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    });
  try {
    const paths = await initPki(dir, {
      ...(options.hosts ? { hosts: options.hosts } : {}),
      ...(options.algorithm ? { algorithm: options.algorithm } : {}),
    });
    for (const name of options.clients ?? []) await issueClient(dir, name);
    return {
      dir,
      paths,
      client: (name) => ({ cert: paths.clientCert(name), key: paths.clientKey(name) }),
      close,
      [Symbol.asyncDispose]: close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
