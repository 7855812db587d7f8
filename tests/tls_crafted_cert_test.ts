/**
 * A client certificate whose extensions cannot be decoded (TLS parses a
 * certificate without decoding its extensions) must be refused, never crash
 * the server that reads them: found by a review, where a 1-byte
 * authorityKeyIdentifier took a mutual-TLS listener's process down.
 */
import assert from "node:assert/strict";
import * as crypto from "node:crypto";
import { makePki, mtlsListener, readToClose } from "./harness/mod.ts";

/** DER: tag, length, body. */
function tlv(tag: number, body: number[]): number[] {
  const n = body.length;
  const len = n < 128 ? [n] : n < 256 ? [0x81, n] : [0x82, n >> 8, n & 255];
  return [tag, ...len, ...body];
}
const seq = (...parts: number[][]) => tlv(0x30, parts.flat());
const oid = (hex: string) => tlv(0x06, [...Buffer.from(hex, "hex")]);
const utcTime = (d: Date) =>
  tlv(0x17, [...Buffer.from(d.toISOString().replace(/[-:T]/g, "").slice(2, 14) + "Z")]);
const cnName = (cn: string) => seq(tlv(0x31, seq(oid("550403"), tlv(0x0c, [...Buffer.from(cn)]))));

/** A properly signed self-signed P-256 certificate whose authorityKeyIdentifier holds one byte. */
function craftedCertificate(): { cert: string; key: string } {
  const { privateKey, publicKey } = crypto.generateKeyPairSync("ec", { namedCurve: "P-256" });
  const ecdsaSha256 = seq(oid("2a8648ce3d040302"));
  const brokenAki = tlv(0xa3, seq(seq(oid("551d23"), tlv(0x04, [0x00]))));
  const now = Date.now();
  const tbs = seq(
    tlv(0xa0, tlv(0x02, [2])), // v3
    tlv(0x02, [0x11]),
    ecdsaSha256,
    cnName("mallory"),
    seq(utcTime(new Date(now - 3_600_000)), utcTime(new Date(now + 86_400_000))),
    cnName("mallory"),
    [...publicKey.export({ type: "spki", format: "der" })],
    brokenAki,
  );
  const signature = [...crypto.sign("sha256", Buffer.from(tbs), privateKey)];
  const der = seq(tbs, ecdsaSha256, tlv(0x03, [0, ...signature]));
  const b64 = Buffer.from(der).toString("base64").match(/.{1,64}/g)!.join("\n");
  return {
    cert: `-----BEGIN CERTIFICATE-----\n${b64}\n-----END CERTIFICATE-----\n`,
    key: privateKey.export({ type: "pkcs8", format: "pem" }) as string,
  };
}

Deno.test("a client certificate with undecodable extensions is refused and the server keeps serving", async () => {
  await using pki = await makePki({ clients: ["alice"] });
  const refused: string[] = [];
  await using server = await mtlsListener(
    pki,
    { onRefused: (_peer, reason) => void refused.push(reason) },
    (conn) => void conn.end("hi\n"),
  );
  const ca = await Deno.readTextFile(pki.paths.ca);
  const crafted = craftedCertificate();
  for (let i = 0; i < 2; i++) {
    const got = await readToClose(server.port, { ca, servername: "localhost", ...crafted });
    assert.ok(!got.startsWith("hi"), `the crafted certificate was served: ${got}`);
  }
  assert.ok(refused.length >= 1, "the refusal was reported");
  // This process (the server's) is still here, and a real client is still served.
  const alice = pki.client("alice");
  const good = await readToClose(server.port, {
    ca,
    servername: "localhost",
    cert: await Deno.readTextFile(alice.cert),
    key: await Deno.readTextFile(alice.key),
  });
  assert.equal(good, "hi\n");
});
