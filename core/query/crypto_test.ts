import assert from "node:assert/strict";
import { join } from "node:path";
import { DecryptError, openQuery, openReply, sealQuery, sealReply } from "./crypto.ts";
import { loadKeyPair, loadPublicKey, writeKeyPair } from "./keys.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const HEADER = enc.encode("0Et0");

Deno.test("sealQuery()/openQuery() and sealReply()/openReply() round-trip with the file key pair", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const paths = await writeKeyPair(dir);
    assert.equal((await Deno.stat(paths.privateKey)).mode! & 0o777, 0o600);
    assert.match(await Deno.readTextFile(paths.privateKey), /^-----BEGIN PRIVATE KEY-----/);
    const server = await loadKeyPair(paths.privateKey);
    const pub = await loadPublicKey(paths.publicKey);
    assert.deepEqual(pub.raw, server.publicKey.raw);
    const q = await sealQuery(pub, HEADER, enc.encode("hello"));
    const b = Uint8Array.from(atob(dec.decode(q.payload)), (c) => c.charCodeAt(0));
    assert.equal(b.length, 32 + 12 + 5 + 16, "ephemeral key | nonce | ciphertext | tag");
    const opened = await openQuery(server, HEADER, q.payload);
    assert.equal(dec.decode(opened.plaintext), "hello");
    const reply = await sealReply(opened.key, HEADER, enc.encode("world"));
    assert.equal(dec.decode(await openReply(q.key, HEADER, reply)), "world");
    await assert.rejects(() => writeKeyPair(dir), /Refusing to overwrite/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("openQuery() rejects a changed header, a flipped bit and a short payload", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const paths = await writeKeyPair(dir);
    const server = await loadKeyPair(paths.privateKey);
    const pub = await loadPublicKey(paths.publicKey);
    const q = await sealQuery(pub, HEADER, enc.encode("hello"));
    await assert.rejects(() => openQuery(server, enc.encode("0Ej0"), q.payload), DecryptError);
    const raw = Uint8Array.from(atob(dec.decode(q.payload)), (c) => c.charCodeAt(0));
    raw[50]! ^= 1;
    const flipped = enc.encode(btoa(String.fromCharCode(...raw)));
    await assert.rejects(() => openQuery(server, HEADER, flipped), /authentication failed/);
    await assert.rejects(() => openQuery(server, HEADER, enc.encode("AAAA")), /shorter than/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadKeyPair() names the file and the fix when it is missing", async () => {
  await assert.rejects(
    () => loadKeyPair(join("/nonexistent", "query.key")),
    /Cannot read private key "\/nonexistent\/query.key": file not found \(create keys with "sockkit query keys"\)/,
  );
});
