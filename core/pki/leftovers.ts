import { basename, dirname, join } from "node:path";
import { removeAtomicLeftoversSync } from "../storage/mod.ts";
import { exists, linkedFile, withPkiLock } from "./_files.ts";
import { certPaths } from "./paths.ts";

/**
 * Removes the temporary files that a crash of `certs init`, `issue`, `allow`
 * or `revoke` left in the certificates directory `dir` and its `clients/`
 * (`.ca.key.<uuid>.tmp`, a private key's copy, among them), and returns
 * their paths. It holds each directory's pki lock while it looks, so the
 * file of a write in flight stays; a directory that does not exist is
 * skipped. Call it from commands that write the directory, never from one
 * that only reads it (a daemon's certificates may be read-only).
 *
 * @example
 * ```ts
 * for (const f of await removePkiLeftovers("certs")) console.log(`Removed "${f}"`);
 * ```
 */
export async function removePkiLeftovers(dir: string): Promise<string[]> {
  const p = certPaths(dir);
  const top = new Set(
    [p.ca, p.caKey, p.serverCert, p.serverKey, p.allowList, p.revoked, p.issued].map((f) =>
      basename(f)
    ),
  );
  // [where, whose lock a write there holds, which targets]
  const places: Array<[string, string, (target: string) => boolean]> = [
    [dir, dir, (target) => top.has(target)],
    [p.clientsDir, p.clientsDir, (target) => target.endsWith(".pem") || target.endsWith(".key")],
  ];
  // revoked.json linked elsewhere (an install's revocations/): its writes hold this directory's lock
  const list = await linkedFile(p.revoked);
  if (list !== p.revoked && dirname(list) !== dir) {
    places.push([dirname(list), dir, (target) => target === basename(list)]);
  }
  const removed: string[] = [];
  for (const [d, lockDir, of] of places) {
    if (!(await exists(d))) continue; // nothing was written there, and no lock file is made
    const names = await withPkiLock(lockDir, () => removeAtomicLeftoversSync(d, of));
    removed.push(...names.map((n) => join(d, n)));
  }
  return removed;
}
