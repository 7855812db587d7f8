import { buildCa, buildLeaf } from "./_build.ts";
import {
  exists,
  KEY_MODE,
  PUBLIC_MODE,
  refuseOverwrite,
  withPkiLock,
  writePkiFileHeld,
} from "./_files.ts";
import { parseCertificates, splitPem } from "./certificate.ts";
import { generateKeyPair, type KeyAlgorithm, privateKeyPem } from "./keys.ts";
import { type CertPaths, certPaths } from "./paths.ts";

/** Options for {@linkcode initPki}. */
export interface InitPkiOptions {
  /** Names and IP addresses the server certificate is valid for. Default `["localhost", "127.0.0.1", "::1"]`. */
  hosts?: string[];
  /** Validity of the server certificate in days (the CA gets at least 3650). Default 825. */
  days?: number;
  /** Key algorithm. Default `"ecdsa"` (P-256). */
  algorithm?: KeyAlgorithm;
  /** Replace existing files. Default `false` (refuse, naming the file). */
  force?: boolean;
}

/** Default server names. */
export const DEFAULT_HOSTS: readonly string[] = ["localhost", "127.0.0.1", "::1"];
/** Default validity of server and client certificates, days. */
export const DEFAULT_DAYS = 825;
/** Minimum validity of the CA, days. */
export const CA_DAYS = 3650;

/**
 * Creates a certificates directory: a CA (`ca.pem`, `ca.key`), a server
 * certificate for `hosts` signed by it (`server.pem`, `server.key`), the
 * client allow-list `allowed.pem` holding the CA certificate, an empty
 * `revoked.json` and `clients/`. Keys are PKCS#8 PEM with mode 0600. Existing
 * files are only replaced with `force`; with `force`, certificates that were
 * individually allowed stay in the new allow-list.
 *
 * @example
 * ```ts
 * const paths = await initPki("certs", { hosts: ["localhost", "10.0.0.5"] });
 * ```
 */
export async function initPki(dir: string, options: InitPkiOptions = {}): Promise<CertPaths> {
  const paths = certPaths(dir);
  const hosts = options.hosts ?? [...DEFAULT_HOSTS];
  const days = options.days ?? DEFAULT_DAYS;
  const algorithm = options.algorithm ?? "ecdsa";
  if (hosts.length === 0 || hosts.some((h) => h.trim() === "")) {
    throw new TypeError(`Invalid hosts "${hosts.join(",")}": expected names or IP addresses`);
  }
  await refuseOverwrite(
    [paths.caKey, paths.ca, paths.serverKey, paths.serverCert, paths.allowList],
    options.force,
  );
  await Deno.mkdir(paths.clientsDir, { recursive: true });
  const caKeys = await generateKeyPair(algorithm);
  const ca = await buildCa(caKeys, algorithm, Math.max(days, CA_DAYS));
  const serverKeys = await generateKeyPair(algorithm);
  const server = await buildLeaf(
    { cn: hosts[0]!, role: "server", hosts, days },
    serverKeys.publicKey,
    ca,
    caKeys.privateKey,
    algorithm,
  );
  const caPem = ca.toString("pem") + "\n";
  // Under the directory's lock from reading what to keep of the allow-list to writing it, so a
  // `certs allow` while the keys were made is kept too.
  await withPkiLock(dir, async () => {
    // Keep individually allowed certificates when re-initialising with --force.
    let keep: string[] = [];
    if (await exists(paths.allowList)) {
      const oldCa = (await exists(paths.ca))
        ? splitPem(await Deno.readTextFile(paths.ca)).map((p) => p.trim())
        : [];
      const old = await parseCertificates(
        await Deno.readTextFile(paths.allowList),
        "client allow-list",
        paths.allowList,
      ).catch(() => []);
      keep = old.map((c) => c.pem).filter((p) => !oldCa.includes(p.trim()));
    }
    await writePkiFileHeld(paths.caKey, await privateKeyPem(caKeys.privateKey), KEY_MODE);
    await writePkiFileHeld(paths.ca, caPem, PUBLIC_MODE);
    await writePkiFileHeld(paths.serverKey, await privateKeyPem(serverKeys.privateKey), KEY_MODE);
    await writePkiFileHeld(paths.serverCert, server.toString("pem") + "\n", PUBLIC_MODE);
    await writePkiFileHeld(paths.allowList, [caPem, ...keep].join(""), PUBLIC_MODE);
    if (!(await exists(paths.revoked))) {
      await writePkiFileHeld(paths.revoked, "[]\n", PUBLIC_MODE);
    }
  });
  return paths;
}
