/**
 * The server's X25519 key pair for encryption `E`: PEM files that OpenSSL
 * also reads (`PRIVATE KEY` PKCS#8, `PUBLIC KEY` SPKI). The private key is
 * written with mode 0600.
 */
import { ConfigError } from "../config/errors.ts";
import { Buffer } from "node:buffer";
import { join } from "node:path";
import { importRawPublicKey, type KeyPair, type PublicKey } from "./crypto.ts";
import { errorText } from "../log/mod.ts";

/** File names inside a keys directory. */
export const KEY_FILES = { privateKey: "query.key", publicKey: "query.pub" } as const;

/** Options for {@linkcode writeKeyPair}. */
export interface WriteKeyPairOptions {
  /** Overwrite existing files. Default `false` (an existing key is an error). */
  force?: boolean;
}

/** Paths written by {@linkcode writeKeyPair}. */
export interface KeyPairPaths {
  privateKey: string;
  publicKey: string;
}

function pem(label: string, der: ArrayBuffer): string {
  const b64 = Buffer.from(der).toString("base64").replace(/.{1,64}/g, "$&\n");
  return `-----BEGIN ${label}-----\n${b64}-----END ${label}-----\n`;
}

function unpem(text: string, label: string, path: string): Uint8Array<ArrayBuffer> {
  const m = new RegExp(`-----BEGIN ${label}-----([\\s\\S]*?)-----END ${label}-----`).exec(text);
  if (!m) {
    throw new Error(
      `Cannot read key "${path}": no "${label}" PEM block found (create keys with "sockkit query keys")`,
    );
  }
  return new Uint8Array(Buffer.from(m[1]!.replace(/\s+/g, ""), "base64"));
}

async function readText(path: string, what: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (err) {
    const why = err instanceof Deno.errors.NotFound ? "file not found" : String(err);
    throw new Error(
      `Cannot read ${what} "${path}": ${why} (create keys with "sockkit query keys")`,
      {
        cause: err,
      },
    );
  }
}

/**
 * Generates a fresh X25519 key pair and writes `query.key` (0600) and
 * `query.pub` into `dir` (created when missing).
 *
 * @example
 * ```ts
 * const paths = await writeKeyPair("certs");
 * // serve with --key certs/query.key; clients use --server-key certs/query.pub
 * ```
 */
export async function writeKeyPair(
  dir: string,
  options: WriteKeyPairOptions = {},
): Promise<KeyPairPaths> {
  const paths = {
    privateKey: join(dir, KEY_FILES.privateKey),
    publicKey: join(dir, KEY_FILES.publicKey),
  };
  if (!options.force) {
    for (const p of [paths.privateKey, paths.publicKey]) {
      try {
        await Deno.lstat(p);
        throw new ConfigError(
          `Refusing to overwrite "${p}": it exists (pass --force to replace it)`,
        );
      } catch (err) {
        if (!(err instanceof Deno.errors.NotFound)) throw err;
      }
    }
  }
  await Deno.mkdir(dir, { recursive: true });
  const kp = await crypto.subtle.generateKey({ name: "X25519" }, true, [
    "deriveBits",
  ]) as CryptoKeyPair;
  const priv = pem("PRIVATE KEY", await crypto.subtle.exportKey("pkcs8", kp.privateKey));
  const pub = pem("PUBLIC KEY", await crypto.subtle.exportKey("spki", kp.publicKey));
  await Deno.writeTextFile(paths.privateKey, priv, { mode: 0o600 });
  await Deno.chmod(paths.privateKey, 0o600);
  await Deno.writeTextFile(paths.publicKey, pub, { mode: 0o644 });
  return paths;
}

/** Loads the server's private key file (PKCS#8 PEM) as a key pair. */
export async function loadKeyPair(path: string): Promise<KeyPair> {
  const der = unpem(await readText(path, "private key"), "PRIVATE KEY", path);
  let privateKey: CryptoKey;
  let raw: Uint8Array;
  try {
    const extractable = await crypto.subtle.importKey("pkcs8", der, { name: "X25519" }, true, [
      "deriveBits",
    ]);
    const jwk = await crypto.subtle.exportKey("jwk", extractable);
    raw = new Uint8Array(Buffer.from(jwk.x ?? "", "base64url"));
    privateKey = await crypto.subtle.importKey("pkcs8", der, { name: "X25519" }, false, [
      "deriveBits",
    ]);
  } catch (err) {
    throw new Error(
      `Cannot read private key "${path}": not an X25519 key (${errorText(err)})`,
      { cause: err },
    );
  }
  return { privateKey, publicKey: await importRawPublicKey(raw) };
}

/** Loads a server public key file (SPKI PEM) for clients. */
export async function loadPublicKey(path: string): Promise<PublicKey> {
  const der = unpem(await readText(path, "server public key"), "PUBLIC KEY", path);
  try {
    const key = await crypto.subtle.importKey("spki", der, { name: "X25519" }, true, []);
    return await importRawPublicKey(new Uint8Array(await crypto.subtle.exportKey("raw", key)));
  } catch (err) {
    throw new Error(
      `Cannot read server public key "${path}": not an X25519 key (${errorText(err)})`,
      { cause: err },
    );
  }
}
