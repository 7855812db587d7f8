import type { PeerIdentity } from "../net/mod.ts";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fsReason } from "./_files.ts";
import { normalizeSerial } from "./issued.ts";
import { parseRevoked, type RevokedEntry } from "./revoke.ts";
import { errorText } from "../log/mod.ts";

/** What an entry is matched against: a client certificate or one of its issuers. */
interface Matchable {
  fingerprint: string;
  serial?: string | undefined;
  issuer?: string | undefined;
  authorityKeyId?: string | undefined;
}

/**
 * Returns an `authorize` hook for `listen()` that refuses peers whose
 * certificate fingerprint is in the revocation list (`revoked.json`). Each
 * call costs one `stat`; the file is read again only when its modification
 * time, size or inode changed, so `sockkit certs revoke` takes effect from the
 * next connection without a restart. A peer is refused when the fingerprint
 * or serial number of its certificate, or of any certificate that issued it
 * (its verified chain up to the allow-listed CA), is listed. A missing file revokes nothing, except in
 * a directory made by `certs init` (it holds `ca.pem`), where the list was
 * created and its disappearance refuses every peer (fail closed); an
 * unreadable or invalid one refuses every peer too, with a reason naming the
 * file, until it is fixed.
 *
 * @example
 * ```ts
 * await using server = await listen({ port: 1191, tls, requireClientCert: true,
 *   authorize: revocationCheck(certPaths("certs").revoked) }, handler);
 * ```
 */
export function revocationCheck(path: string): (peer: PeerIdentity) => string | undefined {
  let stamp: string | undefined;
  let revoked = new Map<string, RevokedEntry>();
  /** Entries with a serial and its issuer, by serial (a serial alone names nothing: every CA has a 1). */
  let serials = new Map<string, RevokedEntry[]>();
  const initialised = existsSync(join(dirname(path), "ca.pem"));
  let failure: string | undefined;

  const refresh = () => {
    let info: Deno.FileInfo;
    try {
      info = Deno.statSync(path);
    } catch (err) {
      if (err instanceof Deno.errors.NotFound && !initialised) {
        stamp = "missing";
        revoked = new Map();
        serials = new Map();
        failure = undefined;
        return;
      }
      if (err instanceof Deno.errors.NotFound) {
        stamp = undefined;
        failure =
          `revocation list "${path}" is missing from an initialised certificate directory: refusing every client (restore it from a backup, or write "[]" to it to revoke nothing)`;
        return;
      }
      stamp = undefined;
      failure = `cannot check revocation list "${path}": ${fsReason(err)}`;
      return;
    }
    const next = `${info.mtime?.getTime()}:${info.size}:${info.ino}`;
    if (next === stamp) return;
    try {
      const entries = parseRevoked(Deno.readTextFileSync(path), path);
      revoked = new Map(entries.map((e) => [e.fingerprint, e]));
      serials = new Map();
      for (const e of entries) {
        if (e.serial === undefined || e.issuer === undefined) continue;
        const key = normalizeSerial(e.serial);
        serials.set(key, [...serials.get(key) ?? [], e]);
      }
      failure = undefined;
      stamp = next;
    } catch (err) {
      stamp = undefined;
      failure = `cannot check revocation list: ${errorText(err)}`;
    }
  };

  return (peer) => {
    refresh();
    if (failure !== undefined) return failure;
    if (peer.fingerprint === undefined) return undefined;
    const bySerial = (c: Matchable) =>
      c.serial !== undefined && c.issuer !== undefined
        ? serials.get(c.serial)?.find((e) =>
          e.issuer === c.issuer &&
          (e.authorityKeyId === undefined || c.authorityKeyId === undefined ||
            e.authorityKeyId === c.authorityKeyId)
        )
        : undefined;
    const cn = peer.cn ?? "?";
    const issuers = peer.issuers ?? [];
    // the very certificates first, so that a CA which reused a serial (its own is 1, and so is
    // that of a certificate it signed) is reported as the issuer that was revoked
    const own = revoked.get(peer.fingerprint);
    if (own) return `certificate CN=${peer.cn ?? own.name} was revoked at ${own.revokedAt}`;
    for (const issuer of issuers) {
      const up = revoked.get(issuer.fingerprint);
      if (up) {
        return `certificate CN=${cn} was issued by CN=${
          issuer.cn ?? up.name
        }, which was revoked at ${up.revokedAt}`;
      }
    }
    const same = bySerial({ ...peer, fingerprint: peer.fingerprint });
    if (same) {
      return `certificate CN=${cn} was revoked at ${same.revokedAt} (by serial ${peer.serial} ` +
        `of its issuer, as "${same.name}")`;
    }
    for (const issuer of issuers) {
      const up = bySerial(issuer);
      if (up) {
        return `certificate CN=${cn} was issued by CN=${issuer.cn ?? up.name}, which was revoked ` +
          `at ${up.revokedAt} (by serial ${issuer.serial} of its issuer, as "${up.name}")`;
      }
    }
    return undefined;
  };
}
