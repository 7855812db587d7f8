/**
 * The few X.509 extensions the client-chain check needs, read straight from
 * a certificate's DER (node:crypto exposes none of them): basicConstraints
 * (CA flag, path length), keyUsage (keyCertSign) and the authority key id.
 */

/** What {@linkcode certExtensions} found; a field is absent when its extension is. */
export interface CertExtensions {
  /** basicConstraints: whether it is a CA and its pathLenConstraint. */
  basicConstraints?: { ca: boolean; pathLength?: number };
  /** keyUsage: whether keyCertSign is among the usages. */
  keyUsage?: { keyCertSign: boolean };
  /** authorityKeyIdentifier's keyIdentifier, lowercase hex. */
  authorityKeyId?: string;
}

interface Tlv {
  tag: number;
  /** First content byte. */
  start: number;
  /** One past the last content byte. */
  end: number;
}

function tlv(b: Uint8Array, at: number, limit: number): Tlv {
  if (at + 2 > limit) throw new RangeError("Cannot parse certificate: truncated DER");
  const tag = b[at]!;
  let len = b[at + 1]!;
  let start = at + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || start + n > limit) {
      throw new RangeError("Cannot parse certificate: bad DER length");
    }
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + b[start + i]!;
    start += n;
  }
  if (start + len > limit) throw new RangeError("Cannot parse certificate: truncated DER");
  return { tag, start, end: start + len };
}

function* children(b: Uint8Array, parent: Tlv): Generator<Tlv> {
  for (let at = parent.start; at < parent.end;) {
    const t = tlv(b, at, parent.end);
    yield t;
    at = t.end;
  }
}

const OID_BASIC = "551d13";
const OID_KEY_USAGE = "551d0f";
const OID_AKI = "551d23";

const hexOf = (b: Uint8Array, t: Tlv) =>
  Array.from(b.subarray(t.start, t.end), (x) => x.toString(16).padStart(2, "0")).join("");

/** Reads the extensions of the DER certificate `der`. Throws a `RangeError` on malformed DER. */
export function certExtensions(der: Uint8Array): CertExtensions {
  const out: CertExtensions = {};
  const cert = tlv(der, 0, der.length);
  const tbs = tlv(der, cert.start, cert.end);
  for (const field of children(der, tbs)) {
    if (field.tag !== 0xa3) continue;
    const list = tlv(der, field.start, field.end);
    for (const ext of children(der, list)) {
      const parts = [...children(der, ext)];
      const oid = parts[0];
      const value = parts.at(-1);
      if (!oid || !value || oid.tag !== 0x06 || value.tag !== 0x04) continue;
      const id = hexOf(der, oid);
      if (id === OID_BASIC) {
        const seq = tlv(der, value.start, value.end);
        const basic: { ca: boolean; pathLength?: number } = { ca: false };
        for (const item of children(der, seq)) {
          if (item.tag === 0x01) basic.ca = item.end > item.start && der[item.start] !== 0;
          if (item.tag === 0x02) {
            let n = 0;
            for (let i = item.start; i < item.end; i++) n = n * 256 + der[i]!;
            basic.pathLength = n;
          }
        }
        out.basicConstraints = basic;
      } else if (id === OID_KEY_USAGE) {
        const bits = tlv(der, value.start, value.end);
        // BIT STRING: unused-bit count, then digitalSignature(0) .. keyCertSign(5) .. in the first byte
        const first = bits.end > bits.start + 1 ? der[bits.start + 1]! : 0;
        out.keyUsage = { keyCertSign: (first & 0x04) !== 0 };
      } else if (id === OID_AKI) {
        const seq = tlv(der, value.start, value.end);
        for (const item of children(der, seq)) {
          if (item.tag === 0x80) out.authorityKeyId = hexOf(der, item);
        }
      }
    }
  }
  return out;
}
