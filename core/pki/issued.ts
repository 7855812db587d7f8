import { dirname } from "node:path";
import { exists, PUBLIC_MODE, readText, withPkiLock, writePkiFileHeld } from "./_files.ts";
import type { CertInfo } from "./certificate.ts";

/** One entry of `issued.json`: a client certificate `certs issue` made. */
export interface IssuedEntry {
  /** The CN it was issued for. */
  name: string;
  /** Serial number, lowercase hex. */
  serial: string;
  /** SHA-256 fingerprint, lowercase hex. */
  fingerprint: string;
  /** When it was recorded, ISO 8601. */
  issuedAt: string;
}

/** Reads `issued.json`; a missing file is an empty record. Throws a `SyntaxError` naming the file when it is not a valid record. */
export async function readIssued(file: string): Promise<IssuedEntry[]> {
  if (!(await exists(file))) return [];
  const text = await readText(file, "record of issued certificates");
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new SyntaxError(`Invalid record of issued certificates "${file}": ${String(err)}`);
  }
  const ok = Array.isArray(data) &&
    data.every((e) =>
      typeof e === "object" && e !== null && typeof e.name === "string" &&
      typeof e.serial === "string" && typeof e.fingerprint === "string"
    );
  if (!ok) {
    throw new SyntaxError(
      `Invalid record of issued certificates "${file}": expected an array of {"name", "serial", "fingerprint", "issuedAt"}`,
    );
  }
  return data as IssuedEntry[];
}

/** The serial number of a certificate, lowercase hex without leading zeros. */
export function serialOf(c: CertInfo): string {
  return normalizeSerial(c.cert.serialNumber);
}

/** Normalizes a serial number (`0A:1B`, `0a1b`, any case) to lowercase hex without separators or leading zeros. */
export function normalizeSerial(serial: string): string {
  return serial.replaceAll(":", "").toLowerCase().replace(/^0+(?=.)/, "");
}

/**
 * Adds `certs` under `name` to `issued.json` (each fingerprint once), holding
 * the directory's pki lock from the read to the write.
 */
export function recordIssued(file: string, name: string, certs: CertInfo[]): Promise<void> {
  return withPkiLock(dirname(file), async () => {
    const list = await readIssued(file);
    const now = new Date().toISOString();
    let changed = false;
    for (const c of certs) {
      if (list.some((e) => e.fingerprint === c.fingerprint)) continue;
      list.push({ name, serial: serialOf(c), fingerprint: c.fingerprint, issuedAt: now });
      changed = true;
    }
    if (changed) {
      await writePkiFileHeld(file, JSON.stringify(list, null, 2) + "\n", PUBLIC_MODE);
    }
  });
}
