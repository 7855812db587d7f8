/**
 * Encryption `E`: ephemeral-static X25519 key agreement, HKDF-SHA256 and
 * AES-256-GCM, all through WebCrypto.
 *
 * Query payload (before base64): `ephemeral public key (32) | nonce (12) |
 * ciphertext + 16-byte tag`. Reply payload: `nonce (12) | ciphertext + tag`,
 * under the same key. The AES key is
 * `HKDF-SHA256(ikm = X25519(ephemeral, server), salt = ephemeral public ||
 * server public, info = "sockkit query v0", 32 bytes)`; the additional
 * authenticated data is the message's 4-byte header. Payloads travel as
 * standard base64 (with padding) so that `\n` framing over TCP stays safe.
 */
import { Buffer } from "node:buffer";
import { ProtocolError } from "../net/mod.ts";

/** The HKDF `info` string. */
export const HKDF_INFO = "sockkit query v0";
const INFO = new TextEncoder().encode(HKDF_INFO);
const KEY_BYTES = 32;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

/** A query or reply could not be decrypted (tampered, wrong key, malformed). */
export class DecryptError extends ProtocolError {
  override name = "DecryptError";
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
  }
}

/** A server's X25519 public key, imported, with its 32 raw bytes. */
export interface PublicKey {
  key: CryptoKey;
  raw: Uint8Array;
}

/** A server's X25519 key pair. */
export interface KeyPair {
  privateKey: CryptoKey;
  publicKey: PublicKey;
}

/** Imports a raw 32-byte X25519 public key. */
export async function importRawPublicKey(raw: Uint8Array): Promise<PublicKey> {
  if (raw.length !== KEY_BYTES) {
    throw new TypeError(`Invalid X25519 public key: expected 32 bytes, got ${raw.length}`);
  }
  const key = await crypto.subtle.importKey("raw", raw.slice(), { name: "X25519" }, true, []);
  return { key, raw: raw.slice() };
}

async function deriveAesKey(
  privateKey: CryptoKey,
  peer: CryptoKey,
  ephemeralRaw: Uint8Array,
  serverRaw: Uint8Array,
): Promise<CryptoKey> {
  const shared = await crypto.subtle.deriveBits({ name: "X25519", public: peer }, privateKey, 256);
  const ikm = await crypto.subtle.importKey("raw", shared, "HKDF", false, ["deriveKey"]);
  const salt = new Uint8Array(KEY_BYTES * 2);
  salt.set(ephemeralRaw, 0);
  salt.set(serverRaw, KEY_BYTES);
  return crypto.subtle.deriveKey(
    { name: "HKDF", hash: "SHA-256", salt, info: INFO },
    ikm,
    { name: "AES-GCM", length: 256 },
    false,
    ["encrypt", "decrypt"],
  );
}

function toBase64(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return new TextEncoder().encode(Buffer.from(bytes).toString("base64"));
}

function fromBase64(payload: Uint8Array): Uint8Array {
  const text = new TextDecoder().decode(payload).trim();
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) {
    throw new DecryptError("Cannot decrypt: the payload is not base64");
  }
  return new Uint8Array(Buffer.from(text, "base64"));
}

async function aesSeal(key: CryptoKey, aad: Uint8Array, plaintext: Uint8Array) {
  const nonce = crypto.getRandomValues(new Uint8Array(NONCE_BYTES));
  const ct = new Uint8Array(
    await crypto.subtle.encrypt(
      { name: "AES-GCM", iv: nonce, additionalData: aad.slice() },
      key,
      plaintext.slice(),
    ),
  );
  return { nonce, ct };
}

async function aesOpen(key: CryptoKey, aad: Uint8Array, nonce: Uint8Array, ct: Uint8Array) {
  try {
    return new Uint8Array(
      await crypto.subtle.decrypt(
        { name: "AES-GCM", iv: nonce.slice(), additionalData: aad.slice() },
        key,
        ct.slice(),
      ),
    );
  } catch (err) {
    throw new DecryptError(
      "Cannot decrypt: authentication failed (the message was altered or sealed for another server key)",
      { cause: err },
    );
  }
}

/** A sealed query and the key its reply will be sealed under. */
export interface SealedQuery {
  /** The base64 payload to send after the header. */
  payload: Uint8Array<ArrayBuffer>;
  /** The per-query AES key (for {@linkcode openReply}). */
  key: CryptoKey;
}

/**
 * Client side: seals `plaintext` for `server` with a fresh ephemeral key.
 * `header` is the request's 4 header bytes (authenticated, not encrypted).
 */
export async function sealQuery(
  server: PublicKey,
  header: Uint8Array,
  plaintext: Uint8Array,
): Promise<SealedQuery> {
  const eph = await crypto.subtle.generateKey({ name: "X25519" }, true, [
    "deriveBits",
  ]) as CryptoKeyPair;
  const ephRaw = new Uint8Array(await crypto.subtle.exportKey("raw", eph.publicKey));
  const key = await deriveAesKey(eph.privateKey, server.key, ephRaw, server.raw);
  const { nonce, ct } = await aesSeal(key, header, plaintext);
  const out = new Uint8Array(KEY_BYTES + NONCE_BYTES + ct.length);
  out.set(ephRaw, 0);
  out.set(nonce, KEY_BYTES);
  out.set(ct, KEY_BYTES + NONCE_BYTES);
  return { payload: toBase64(out), key };
}

/** Client side: opens a reply payload sealed under the query's key. */
export async function openReply(
  key: CryptoKey,
  header: Uint8Array,
  payload: Uint8Array,
): Promise<Uint8Array> {
  const bytes = fromBase64(payload);
  if (bytes.length < NONCE_BYTES + TAG_BYTES) {
    throw new DecryptError(`Cannot decrypt reply: ${bytes.length} bytes is too short`);
  }
  return await aesOpen(
    key,
    header,
    bytes.subarray(0, NONCE_BYTES),
    bytes.subarray(NONCE_BYTES),
  );
}

/** An opened query: its plaintext and the key to seal the reply with. */
export interface OpenedQuery {
  plaintext: Uint8Array;
  key: CryptoKey;
}

/** Server side: opens a query payload with the server's key pair. */
export async function openQuery(
  server: KeyPair,
  header: Uint8Array,
  payload: Uint8Array,
): Promise<OpenedQuery> {
  const bytes = fromBase64(payload);
  if (bytes.length < KEY_BYTES + NONCE_BYTES + TAG_BYTES) {
    throw new DecryptError(
      `Cannot decrypt query: ${bytes.length} bytes is shorter than the ${
        KEY_BYTES + NONCE_BYTES + TAG_BYTES
      } byte minimum (ephemeral key 32, nonce 12, tag 16)`,
    );
  }
  const ephRaw = bytes.slice(0, KEY_BYTES);
  let key: CryptoKey;
  try {
    const eph = await crypto.subtle.importKey("raw", ephRaw, { name: "X25519" }, false, []);
    key = await deriveAesKey(server.privateKey, eph, ephRaw, server.publicKey.raw);
  } catch (err) {
    if (err instanceof DecryptError) throw err;
    throw new DecryptError("Cannot decrypt query: invalid ephemeral public key", { cause: err });
  }
  const plaintext = await aesOpen(
    key,
    header,
    bytes.subarray(KEY_BYTES, KEY_BYTES + NONCE_BYTES),
    bytes.subarray(KEY_BYTES + NONCE_BYTES),
  );
  return { plaintext, key };
}

/** Server side: seals a reply under the query's key. */
export async function sealReply(
  key: CryptoKey,
  header: Uint8Array,
  plaintext: Uint8Array,
): Promise<Uint8Array<ArrayBuffer>> {
  const { nonce, ct } = await aesSeal(key, header, plaintext);
  const out = new Uint8Array(NONCE_BYTES + ct.length);
  out.set(nonce, 0);
  out.set(ct, NONCE_BYTES);
  return toBase64(out);
}
